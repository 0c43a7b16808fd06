/**
 * Display names of Slack users, from `users.info` (scope `users:read`), cached per user id for `ttlMs`
 * (concurrent lookups of one id share a request). The name is the profile's display name, else the real
 * name, else the handle, else the id. A failed lookup (unknown user, missing scope, network) yields the id
 * and is cached for a minute at most, so that a broken scope doesn't cost one request per message.
 */
import type { Clock } from "../../core/clock.js";
import type { Logger } from "../../core/logger.js";
import type { SlackApi } from "./SlackApi.js";

interface Entry {
  name: Promise<string>;
  at: number;
  ttl: number;
}

const FAILURE_TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export class UserDirectory {
  readonly #api: SlackApi;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, Entry>();

  constructor(api: SlackApi, clock: Clock, log: Logger, ttlMs: number) {
    this.#api = api;
    this.#clock = clock;
    this.#log = log;
    this.#ttlMs = ttlMs;
  }

  /** The display name of `userId`; never rejects. */
  name(userId: string): Promise<string> {
    const now = this.#clock.now();
    const hit = this.#cache.get(userId);
    if (hit && now - hit.at < hit.ttl) return hit.name;
    const entry: Entry = { name: Promise.resolve(userId), at: now, ttl: this.#ttlMs };
    entry.name = this.#lookup(userId).catch((err: unknown) => {
      this.#log.warn({ err, userId }, "users.info failed; using the user id as the name");
      entry.ttl = Math.min(this.#ttlMs, FAILURE_TTL_MS);
      return userId;
    });
    if (this.#cache.size >= MAX_ENTRIES) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(userId, entry);
    return entry.name;
  }

  /** Names of several users, as a map (for prompt text). */
  async names(userIds: readonly string[]): Promise<Map<string, string>> {
    const names = await Promise.all(userIds.map((id) => this.name(id)));
    return new Map(userIds.map((id, i) => [id, names[i]]));
  }

  async #lookup(userId: string): Promise<string> {
    const result = await this.#api.call(() => this.#api.web.users.info({ user: userId }));
    const user = result.user;
    const name = user?.profile?.display_name || user?.profile?.real_name || user?.real_name || user?.name;
    return name && name.trim() !== "" ? name.trim() : userId;
  }
}
