import { mkdir } from "node:fs/promises";
import path from "node:path";
import Keyv from "keyv";
import KeyvSqlite from "@keyv/sqlite";
import KeyvRedis, { createClient } from "@keyv/redis";
import { GlmbotError } from "./errors.js";

const REDIS_CONNECT_TIMEOUT_MS = 5_000;
const REDIS_RECONNECT_TRIES = 3;

export interface OpenKeyvOptions {
  /** `redis://…` / `rediss://…` (several replicas) or `sqlite://<file>`; default `sqlite://<dataDir>/glmbot.sqlite`. */
  url?: string;
  /** Data directory for the default SQLite file (created if missing). */
  dataDir: string;
  /** Keyv namespace; also the SQLite table name, so several stores share one file (letters, digits, `_`). */
  namespace: string;
  /** Longest key, characters (SQLite column size). */
  keySize: number;
  /** Called with backend errors (they are also thrown to the caller). */
  onError?: (error: unknown) => void;
}

/**
 * Opens a keyv instance on glmbot's memory backend: the SQLite file under the data directory by default, or
 * Redis for several replicas. Redis fails fast instead of hanging: commands issued while disconnected reject
 * at once (no offline queue), and a connection attempt gives up after a few tries (the next command tries
 * again). Every backend error is thrown (`throwOnErrors`), never swallowed.
 *
 * @throws GlmbotError `config_invalid` for a URL that is neither `redis(s)://` nor `sqlite://`.
 */
export async function openKeyv(options: OpenKeyvOptions): Promise<Keyv> {
  const url = options.url || `sqlite://${path.join(options.dataDir, "glmbot.sqlite")}`;
  let keyv: Keyv;
  if (/^rediss?:\/\//.test(url)) {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number) => (retries >= REDIS_RECONNECT_TRIES ? new Error("Redis is unreachable.") : 100 * 2 ** retries),
      },
    });
    client.on("error", (error: unknown) => options.onError?.(error));
    keyv = new Keyv({ store: new KeyvRedis(client, { throwOnErrors: true }), namespace: options.namespace, throwOnErrors: true, useKeyPrefix: false });
  } else if (url.startsWith("sqlite://")) {
    const file = url.slice("sqlite://".length);
    if (file !== ":memory:") await mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const store = new KeyvSqlite({ uri: url, table: options.namespace, keySize: options.keySize, busyTimeout: 5_000 });
    keyv = new Keyv({ store, namespace: options.namespace, throwOnErrors: true });
  } else {
    throw new GlmbotError("config_invalid", "The memory URL must start with redis://, rediss:// or sqlite://.");
  }
  keyv.on("error", (error: unknown) => options.onError?.(error));
  return keyv;
}
