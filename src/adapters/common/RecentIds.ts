/**
 * A bounded memory of recently handled platform ids (message ids, Slack event ids), for exactly-once
 * handling when a platform delivers an event again (Discord gateway replays after a resume; Slack retries).
 * In memory only: after a restart, or for an id older than `ttlMs` or pushed out by `max` newer ids, a
 * redelivery is handled again. Least-recently-added ids are evicted first.
 */
export class RecentIds {
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  /** `max`: ids kept (default 10 000); `ttlMs`: how long an id is remembered (default 1 h); `now`: Unix ms. */
  constructor(options: { max?: number; ttlMs?: number; now?: () => number } = {}) {
    this.#max = options.max ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 3_600_000;
    this.#now = options.now ?? Date.now;
  }

  /** True the first time `id` is seen (and remembers it); false while it is remembered. */
  firstTime(id: string): boolean {
    const now = this.#now();
    const at = this.#seen.get(id);
    if (at !== undefined && now - at < this.#ttlMs) return false;
    this.#seen.delete(id);
    this.#seen.set(id, now);
    for (const [oldest, when] of this.#seen) {
      if (this.#seen.size <= this.#max && now - when < this.#ttlMs) break;
      this.#seen.delete(oldest);
    }
    return true;
  }

  /** Whether `id` is remembered (does not remember it). */
  has(id: string): boolean {
    const at = this.#seen.get(id);
    return at !== undefined && this.#now() - at < this.#ttlMs;
  }

  /** Ids currently remembered (for tests and metrics). */
  get size(): number {
    return this.#seen.size;
  }
}
