/**
 * The Slack adapter's small persistent state, in keyv on the same backend as core's memory (its own SQLite
 * table `glmbot_slack` in the same file, or the `glmbot_slack` namespace in the same Redis; see core's openKeyv):
 * - delivery dedupe: event ids (`event:<event_id>`) and messages (`msg:<team>:<channel>:<ts>`), so that a
 *   retried delivery, a Socket Mode re-send or the `app_mention` + `message` pair of one mention produce one
 *   job; remembered `dedupeTtlMs` (≥ 10 minutes; Slack retries for about 5) and across restarts;
 * - followed threads (`thread:<team>:<channel>:<thread_ts>`): threads the bot answered, for follow-ups
 *   without a new mention; remembered `threadTtlMs`.
 *
 * Exactly-once is at-most-once here: a delivery is claimed before its job runs, so a crash in between loses
 * that message rather than answering it twice. Claims are atomic within one process (an in-memory map is
 * checked before any await); two replicas sharing Redis could both claim one delivery in a window of a few
 * milliseconds (keyv has no set-if-absent), so run one Slack-connected replica.
 */
import type Keyv from "keyv";
import { openKeyv } from "../../core/openKeyv.js";

export interface SlackStore {
  /**
   * Claims every key at once: true when none was seen within the TTL (they are now recorded), false when
   * any was (a duplicate). Never rejects: when the backend fails, the error goes to `onError` and only this
   * process's memory decides.
   */
  claim(keys: readonly string[]): Promise<boolean>;
  /** Records that the bot answers in this thread (key from {@link threadKey}). Rejects when the backend fails. */
  followThread(key: string): Promise<void>;
  /** Whether the bot answered in this thread within `threadTtlMs` (false when the backend fails). */
  isFollowed(key: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface SlackStoreOptions {
  /** Core's memory URL: `redis://…`, `rediss://…`, `sqlite://<file>`, or "" / undefined for `sqlite://<dataDir>/glmbot.sqlite`. */
  url?: string;
  dataDir: string;
  /** Dedupe memory, ms. */
  dedupeTtlMs: number;
  /** Followed-thread memory, ms. */
  threadTtlMs: number;
  /** Unix ms; default Date.now. */
  now?: () => number;
  onError?: (error: unknown) => void;
}

export const threadKey = (team: string, channel: string, threadTs: string): string => `thread:${team}:${channel}:${threadTs}`;

/** Opens the store. Rejects with `config_invalid` for an unknown URL scheme. */
export async function createSlackStore(options: SlackStoreOptions): Promise<SlackStore> {
  const keyv = await openKeyv({ url: options.url, dataDir: options.dataDir, namespace: "glmbot_slack", keySize: 512, onError: options.onError });
  return new KeyvSlackStore(keyv, options);
}

/** Stored value: the Unix ms it was written (expiry is checked against the injected clock). */
interface Mark {
  at: number;
}

class KeyvSlackStore implements SlackStore {
  readonly #keyv: Keyv;
  readonly #now: () => number;
  readonly #dedupeTtlMs: number;
  readonly #threadTtlMs: number;
  readonly #onError: (error: unknown) => void;
  /** Keys claimed by this process (and when), so that concurrent deliveries never both pass. */
  readonly #local = new Map<string, number>();

  constructor(keyv: Keyv, options: SlackStoreOptions) {
    this.#keyv = keyv;
    this.#now = options.now ?? Date.now;
    this.#dedupeTtlMs = options.dedupeTtlMs;
    this.#threadTtlMs = options.threadTtlMs;
    this.#onError = options.onError ?? (() => undefined);
  }

  async claim(keys: readonly string[]): Promise<boolean> {
    const now = this.#now();
    this.#sweep(now);
    if (keys.some((key) => this.#local.has(key))) return false;
    for (const key of keys) this.#local.set(key, now);
    try {
      const seen = await Promise.all(keys.map((key) => this.#fresh(key, this.#dedupeTtlMs)));
      if (seen.some(Boolean)) {
        for (const key of keys) this.#local.delete(key); // not claimed now: the stored marks decide
        return false;
      }
      await Promise.all(keys.map((key) => this.#keyv.set<Mark>(key, { at: now }, this.#dedupeTtlMs)));
    } catch (error) {
      // The backend is down: this process still dedupes (the local marks stay); a restart would not.
      this.#onError(error);
    }
    return true;
  }

  async followThread(key: string): Promise<void> {
    await this.#keyv.set<Mark>(key, { at: this.#now() }, this.#threadTtlMs);
  }

  isFollowed(key: string): Promise<boolean> {
    return this.#fresh(key, this.#threadTtlMs).catch((error: unknown) => {
      this.#onError(error);
      return false;
    });
  }

  async close(): Promise<void> {
    this.#local.clear();
    await this.#keyv.disconnect();
  }

  async #fresh(key: string, ttlMs: number): Promise<boolean> {
    const mark = await this.#keyv.get<Mark>(key);
    return mark !== undefined && typeof mark.at === "number" && this.#now() - mark.at < ttlMs;
  }

  #sweep(now: number): void {
    for (const [key, at] of this.#local) {
      if (now - at < this.#dedupeTtlMs) break; // insertion order = time order
      this.#local.delete(key);
    }
  }
}
