/**
 * Idempotency-Key support, in memory (lost on restart; one process only). Per client and key:
 * the first request reserves the key before it submits; while it runs, repeats get 409
 * `idempotency_conflict`; once finished, repeats within the TTL get the stored answer and never run the
 * model again. A request refused before its job was queued (validation, queue_full…) frees the key.
 */
import type { FinalResult } from "./outcome.js";

interface Entry {
  fingerprint: string;
  createdAt: number;
  result?: FinalResult;
}

/** Proof of a reservation, passed back to {@link IdempotencyStore.complete} / {@link IdempotencyStore.release}. */
export interface IdempotencyTicket {
  readonly id: string;
}

export type BeginResult =
  | { state: "new"; ticket: IdempotencyTicket }
  | { state: "running" }
  | { state: "mismatch" }
  | { state: "done"; result: FinalResult };

export class IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = 0;

  /**
   * @param ttlMs how long a key is remembered, from its first use (ms)
   * @param now clock, ms since epoch
   * @param maxEntries bound on remembered keys; the oldest finished ones go first
   */
  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * Looks up (`scope` = client name, `key` = header value). `fingerprint` identifies the request body: the
   * same key with a different body is a `mismatch`.
   */
  begin(scope: string, key: string, fingerprint: string): BeginResult {
    this.sweep();
    const id = `${scope}\u0000${key}`;
    const entry = this.entries.get(id);
    if (entry && (entry.result === undefined || !this.expired(entry))) {
      if (entry.fingerprint !== fingerprint) return { state: "mismatch" };
      return entry.result === undefined ? { state: "running" } : { state: "done", result: entry.result };
    }
    this.entries.delete(id);
    this.entries.set(id, { fingerprint, createdAt: this.now() });
    return { state: "new", ticket: { id } };
  }

  /** Stores the final answer for replays. */
  complete(ticket: IdempotencyTicket, result: FinalResult): void {
    const entry = this.entries.get(ticket.id);
    if (entry) entry.result = result;
  }

  /** Frees a reservation whose request never queued a job. */
  release(ticket: IdempotencyTicket): void {
    const entry = this.entries.get(ticket.id);
    if (entry && entry.result === undefined) this.entries.delete(ticket.id);
  }

  /** Number of remembered keys (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private expired(entry: Entry): boolean {
    return this.now() - entry.createdAt >= this.ttlMs;
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < 1000 && this.entries.size < this.maxEntries) return;
    this.lastSweep = now;
    for (const [id, entry] of this.entries) {
      if (entry.result !== undefined && this.expired(entry)) this.entries.delete(id);
    }
    for (const [id, entry] of this.entries) {
      if (this.entries.size < this.maxEntries) break;
      if (entry.result !== undefined) this.entries.delete(id);
    }
  }
}
