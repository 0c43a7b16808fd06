/**
 * A fixed pool of context sequences with conversation affinity and least-recently-used eviction.
 *
 * One llama.cpp context holds `sequences` independent KV-cache sequences (batched together when several
 * generate at once). A conversation that comes back while a sequence still holds its prefix should get that
 * sequence again, so only its new tokens are evaluated:
 *
 * - {@link SequencePool.acquire}(key) prefers an idle slot last used by `key`; otherwise an idle slot that
 *   has never been used; otherwise the least recently used idle slot (its cached conversation is evicted:
 *   the engine erases the part of its KV cache that differs from the new prompt).
 * - When every slot is busy the caller waits (FIFO). Core's queue already limits concurrency to `sequences`,
 *   so waiting is the rare case. An abort while waiting, or {@link SequencePool.close}, rejects with
 *   {@link PoolWaitAborted}.
 * - {@link SequencePool.release}(slot, keep) makes the slot idle again; `keep = false` (after a failure)
 *   forgets its conversation key.
 */
import type { LlamaContextSequence } from "node-llama-cpp";
import { GlmbotError } from "../core/errors.js";

/** One pooled sequence and its bookkeeping. */
export interface SequenceSlot {
  readonly sequence: LlamaContextSequence;
  /** 0-based slot index (= llama.cpp sequence id order). */
  readonly index: number;
  /** Conversation whose prefix the sequence holds, if any. */
  key: string | undefined;
  busy: boolean;
  /** Logical clock of the last acquire (higher = more recent). */
  lastUsed: number;
}

/** Thrown by {@link SequencePool.acquire} when the wait is aborted. */
export class PoolWaitAborted extends Error {
  constructor() {
    super("aborted while waiting for a free sequence");
    this.name = "PoolWaitAborted";
  }
}

interface Waiter {
  key: string | undefined;
  resolve: (slot: SequenceSlot) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
}

export class SequencePool {
  private readonly slots: SequenceSlot[];
  private readonly waiters: Waiter[] = [];
  private clock = 0;
  private closed = false;

  constructor(sequences: readonly LlamaContextSequence[]) {
    this.slots = sequences.map((sequence, index) => ({ sequence, index, key: undefined, busy: false, lastUsed: 0 }));
  }

  /** Slots, for introspection (read-only use). */
  get all(): readonly SequenceSlot[] {
    return this.slots;
  }

  /** Number of callers waiting for a slot. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Get a slot for `key` (see class doc). Rejects with PoolWaitAborted on abort, GlmbotError after close. */
  acquire(key: string | undefined, signal?: AbortSignal): Promise<SequenceSlot> {
    if (this.closed) return Promise.reject(new GlmbotError("model_not_ready", "the inference engine has been disposed"));
    if (signal?.aborted) return Promise.reject(new PoolWaitAborted());
    const slot = this.pick(key);
    if (slot) return Promise.resolve(this.take(slot, key));
    return new Promise<SequenceSlot>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new PoolWaitAborted());
      };
      const waiter: Waiter = { key, resolve, reject, cleanup: () => signal?.removeEventListener("abort", onAbort) };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Return a slot. `keep = false` forgets which conversation it holds. Hands it on to the next waiter. */
  release(slot: SequenceSlot, keep = true): void {
    slot.busy = false;
    if (!keep) slot.key = undefined;
    const waiter = this.waiters.shift();
    if (!waiter) return;
    waiter.cleanup();
    waiter.resolve(this.take(this.pick(waiter.key) ?? slot, waiter.key));
  }

  /** Refuse new acquires; waiters are rejected with PoolWaitAborted (their generations end `cancelled`). */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new PoolWaitAborted());
    }
  }

  private pick(key: string | undefined): SequenceSlot | undefined {
    const idle = this.slots.filter((s) => !s.busy);
    if (idle.length === 0) return undefined;
    if (key !== undefined) {
      const own = idle.find((s) => s.key === key);
      if (own) return own;
    }
    const empty = idle.find((s) => s.key === undefined && s.sequence.nextTokenIndex === 0);
    if (empty) return empty;
    return idle.reduce((lru, s) => (s.lastUsed < lru.lastUsed ? s : lru));
  }

  private take(slot: SequenceSlot, key: string | undefined): SequenceSlot {
    slot.busy = true;
    slot.lastUsed = ++this.clock;
    if (key !== undefined)
      for (const other of this.slots) if (other !== slot && other.key === key && !other.busy) other.key = undefined;
    slot.key = key;
    return slot;
  }
}
