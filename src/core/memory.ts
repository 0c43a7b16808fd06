import type Keyv from "keyv";
import { GlmbotError } from "./errors.js";
import { groupExchanges } from "./exchanges.js";
import { KeyedChain } from "./keyedChain.js";
import { openKeyv } from "./openKeyv.js";
import type { StoredTurn } from "./ports.js";

/** What is stored per conversation key. Turns are oldest first and always complete exchanges. */
export interface ConversationRecord {
  /** Set by the `system` command; absent means "use the configured default". */
  systemPrompt?: string;
  turns: StoredTurn[];
  /** Unix ms of the last write; the record is forgotten `idleTtlMs` after it. */
  updatedAt: number;
}

/**
 * Conversation memory. Writes to one key are serialized in this process (read-modify-write never
 * interleaves); across replicas sharing Redis, the queue runs one job per key per replica, so two replicas
 * writing the same key at the same instant could lose one exchange (last write wins).
 * Every method rejects with the backend's error when the backend fails (nothing is silently dropped).
 */
export interface ConversationStore {
  /** The record, or `undefined` when there is none or it has been idle for `idleTtlMs` or longer. */
  get(key: string): Promise<ConversationRecord | undefined>;
  /**
   * Appends one complete exchange (normally user + assistant) and refreshes the idle TTL. Afterwards the
   * oldest whole exchanges are dropped until at most `maxTurns` turns remain (the new exchange is kept).
   */
  appendExchange(key: string, turns: readonly StoredTurn[]): Promise<void>;
  /** Sets (or with `undefined` clears) the conversation's system prompt; keeps the turns. */
  setSystemPrompt(key: string, systemPrompt: string | undefined): Promise<void>;
  /** Forgets the conversation: turns and system prompt. */
  reset(key: string): Promise<void>;
  /** Closes the backend connection. */
  close(): Promise<void>;
}

export interface ConversationStoreOptions {
  /** `redis://…` / `rediss://…` (several replicas) or `sqlite://<file>`; default `sqlite://<dataDir>/glmbot.sqlite`. */
  url?: string;
  /** Data directory for the default SQLite file (created if missing). */
  dataDir: string;
  /** Max stored turns per conversation (≥ 2). */
  maxTurns: number;
  /** A conversation idle this long (ms) is forgotten. */
  /** 0 = never forget. */
  idleTtlMs: number;
  /** Clock (Unix ms), for tests. Default `Date.now`. */
  now?: () => number;
  /** Called with backend errors that are also thrown to the caller (for logging). */
  onError?: (error: unknown) => void;
}

const NAMESPACE = "glmbot";
const RECORD_VERSION = 1;

/** Opens a keyv-backed {@link ConversationStore}. Rejects with `config_invalid` for an unknown URL scheme. */
export async function createConversationStore(options: ConversationStoreOptions): Promise<ConversationStore> {
  if (!(options.maxTurns >= 2)) throw new GlmbotError("config_invalid", "maxTurns must be at least 2.");
  if (!(options.idleTtlMs >= 0)) throw new GlmbotError("config_invalid", "idleTtlMs must be 0 (never) or positive.");
  const keyv = await openKeyv({ url: options.url, dataDir: options.dataDir, namespace: NAMESPACE, keySize: 1024, onError: options.onError });
  return new KeyvConversationStore(keyv, options);
}

interface SerializedRecord extends ConversationRecord {
  v: number;
}

class KeyvConversationStore implements ConversationStore {
  readonly #keyv: Keyv;
  readonly #chain = new KeyedChain();
  readonly #maxTurns: number;
  readonly #idleTtlMs: number;
  readonly #now: () => number;

  constructor(keyv: Keyv, options: ConversationStoreOptions) {
    this.#keyv = keyv;
    this.#maxTurns = options.maxTurns;
    this.#idleTtlMs = options.idleTtlMs;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<ConversationRecord | undefined> {
    const stored = await this.#keyv.get<SerializedRecord>(storageKey(key));
    if (stored === undefined || stored.v !== RECORD_VERSION) return undefined;
    // keyv's own TTL (wall clock) removes stale rows from the backend; this check makes expiry exact
    // for the injected clock and for records written before the TTL setting changed.
    if (this.#idleTtlMs > 0 && this.#now() - stored.updatedAt >= this.#idleTtlMs) return undefined;
    const { v: _version, ...record } = stored;
    return record;
  }

  appendExchange(key: string, turns: readonly StoredTurn[]): Promise<void> {
    return this.#update(key, (record) => {
      const exchanges = groupExchanges([...(record?.turns ?? []), ...turns]);
      let total = exchanges.reduce((sum, exchange) => sum + exchange.length, 0);
      let drop = 0;
      while (drop < exchanges.length - 1 && total > this.#maxTurns) total -= exchanges[drop++].length;
      return { systemPrompt: record?.systemPrompt, turns: exchanges.slice(drop).flat() };
    });
  }

  setSystemPrompt(key: string, systemPrompt: string | undefined): Promise<void> {
    return this.#update(key, (record) => ({ systemPrompt, turns: record?.turns ?? [] }));
  }

  reset(key: string): Promise<void> {
    return this.#chain.run(key, async () => {
      await this.#keyv.delete(storageKey(key));
    });
  }

  async close(): Promise<void> {
    await this.#keyv.disconnect();
  }

  #update(key: string, change: (record: ConversationRecord | undefined) => Omit<ConversationRecord, "updatedAt">): Promise<void> {
    return this.#chain.run(key, async () => {
      const next = change(await this.get(key));
      const value: SerializedRecord = { v: RECORD_VERSION, ...next, updatedAt: this.#now() };
      if (value.systemPrompt === undefined) delete value.systemPrompt;
      if (value.turns.length === 0 && value.systemPrompt === undefined) await this.#keyv.delete(storageKey(key));
      else await this.#keyv.set(storageKey(key), value, this.#idleTtlMs > 0 ? this.#idleTtlMs : undefined);
    });
  }
}

/** Keys are namespaced so that other data in the same Redis database cannot collide. */
function storageKey(conversationKey: string): string {
  return `conv:${conversationKey}`;
}
