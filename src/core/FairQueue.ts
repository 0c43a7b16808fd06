import { randomUUID } from "node:crypto";
import PQueue from "p-queue";
import { type Clock, systemClock } from "./clock.js";
import { GlmbotError } from "./errors.js";

/** One unit of work for the model, owned by a conversation key and a user. */
export interface FairJobSpec {
  key: string;
  userId: string;
  /**
   * Runs the job. `signal` aborts with a GlmbotError reason: `cancelled` (cancel), `generation_timeout`
   * (deadline) or `shutting_down`. `run` should settle soon after an abort; a rejection is reported to
   * `onError` and otherwise treated like a normal finish.
   */
  run(signal: AbortSignal): Promise<void>;
  /** Called with the new 1-based position each time it changes while the job waits. */
  onPosition?(position: number): void;
}

/** How a job left the queue. */
export type FairJobEnd =
  | { status: "finished" }
  /** Never started: cancelled while waiting, or the queue was closed. */
  | { status: "dropped"; reason: GlmbotError }
  /** `run` ignored its abort for `abortGraceMs`; its slot was released anyway. */
  | { status: "abandoned"; reason: GlmbotError };

export interface FairJob {
  readonly id: string;
  readonly key: string;
  /** 1-based position among waiting jobs (estimated start order); 0 once running or done. */
  position(): number;
  /** Drops a waiting job, or aborts a running one with `reason` (default `cancelled`). No-op when done. */
  cancel(reason?: GlmbotError): void;
  /** Resolves when the job has left the queue and its slot is free. Never rejects. */
  readonly done: Promise<FairJobEnd>;
}

export interface FairQueueOptions {
  /** Jobs that may run at once (the engine's parallel sequences). */
  concurrency: number;
  /** Max unfinished (waiting + running) jobs in all; default 64. */
  maxPending?: number;
  /** Max unfinished jobs per user id; default 3. */
  maxPendingPerUser?: number;
  /** A running job is aborted this long after it started (ms); default 120 000. */
  deadlineMs?: number;
  /** After an abort, how long `run` may take to settle before its slot is released anyway (ms); default 5 000. */
  abortGraceMs?: number;
  clock?: Clock;
  onError?: (error: unknown) => void;
}

interface Job extends FairJob {
  readonly spec: FairJobSpec;
  readonly controller: AbortController;
  state: "waiting" | "running" | "done";
  pos: number;
  resolve(end: FairJobEnd): void;
}

/** Run time assumed for `retryAfterSeconds` before any job has finished (ms). */
const INITIAL_RUN_MS = 10_000;

/**
 * The queue in front of the one model.
 *
 * - Within a key: FIFO, and at most one job runs per key, so a job starts only after the previous job of
 *   its conversation has finished (and stored its exchange).
 * - Across keys: round-robin. `#ring` holds the keys that have a waiting job and nothing running, in turn
 *   order; a free slot takes the head job of the first key in the ring. A key leaves the ring when its job
 *   starts and rejoins at the back when that job finishes (if it has more waiting), so a burst in one
 *   channel lets every other channel's job run before its own next one.
 * - p-queue is the global limiter (`concurrency` = engine sequences); the ring feeds it only while it
 *   has a free slot and refills on its `next` event.
 * - Bounded: `enqueue` throws `queue_full` (details `{retryAfterSeconds}`) at once over a bound.
 * - Deadline from the moment a job starts (waiting time does not count): abort with `generation_timeout`.
 */
export class FairQueue {
  readonly #limiter: PQueue;
  readonly #fifos = new Map<string, Job[]>(); // key → waiting jobs; present while the key has unfinished jobs
  readonly #running = new Map<string, Job>(); // key → its running job, in start order
  readonly #perUser = new Map<string, number>();
  #ring: string[] = [];
  #unfinished = 0;
  #avgRunMs = INITIAL_RUN_MS;
  #closedWith: GlmbotError | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #opts: Required<Omit<FairQueueOptions, "onError">> & Pick<FairQueueOptions, "onError">;

  constructor(options: FairQueueOptions) {
    this.#opts = {
      maxPending: 64,
      maxPendingPerUser: 3,
      deadlineMs: 120_000,
      abortGraceMs: 5_000,
      clock: systemClock,
      ...options,
    };
    this.#limiter = new PQueue({ concurrency: options.concurrency });
    this.#limiter.on("next", () => this.#pump());
  }

  /**
   * Throws what {@link enqueue} would throw right now for `userId` (`queue_full` or the close reason), so callers
   * can refuse before any costly admission work (memory read, tokenizing). `enqueue` checks again.
   */
  assertCapacity(userId: string): void {
    if (this.#closedWith) throw this.#closedWith;
    const { maxPending, maxPendingPerUser } = this.#opts;
    if (this.#unfinished >= maxPending) {
      throw this.#full(`The bot is busy (${maxPending} requests pending). Please try again shortly.`);
    }
    if ((this.#perUser.get(userId) ?? 0) >= maxPendingPerUser) {
      throw this.#full(`You already have ${maxPendingPerUser} requests pending. Please wait for them to finish.`);
    }
  }

  /** Queues a job, or throws `queue_full` / the close reason synchronously. */
  enqueue(spec: FairJobSpec): FairJob {
    this.assertCapacity(spec.userId);
    let resolve!: (end: FairJobEnd) => void;
    const done = new Promise<FairJobEnd>((r) => (resolve = r));
    const job: Job = {
      // Unique across restarts and replicas: webhook callers keep ids for idempotency and callbacks.
      id: `msg_${randomUUID()}`,
      key: spec.key,
      spec,
      controller: new AbortController(),
      state: "waiting",
      pos: 0,
      resolve,
      done,
      position: () => job.pos,
      cancel: (reason) => this.#cancel(job, reason ?? new GlmbotError("cancelled", "The request was cancelled.")),
    };
    const fifo = this.#fifos.get(spec.key) ?? [];
    if (fifo.length === 0 && !this.#running.has(spec.key)) this.#ring.push(spec.key);
    fifo.push(job);
    this.#fifos.set(spec.key, fifo);
    this.#unfinished++;
    this.#perUser.set(spec.userId, (this.#perUser.get(spec.userId) ?? 0) + 1);
    if (!this.#pump()) this.#updatePositions();
    return job;
  }

  /** Jobs waiting to start. */
  get waiting(): number {
    return this.#unfinished - this.#running.size;
  }

  /** Jobs running now. */
  get running(): number {
    return this.#running.size;
  }

  /** Position of the key's next waiting job (0 when none waits). */
  positionOfKey(key: string): number {
    return this.#fifos.get(key)?.[0]?.pos ?? 0;
  }

  /** True while the key has a waiting or running job. */
  hasJobs(key: string): boolean {
    return this.#fifos.has(key);
  }

  /** Refuses new jobs with `reason` from now on and drops every waiting job with it. */
  close(reason: GlmbotError): void {
    this.#closedWith = reason;
    for (const fifo of [...this.#fifos.values()]) for (const job of [...fifo]) this.#cancel(job, reason);
  }

  /** Aborts every running job with `reason`. */
  abortRunning(reason: GlmbotError): void {
    for (const job of [...this.#running.values()]) this.#cancel(job, reason);
  }

  /** Resolves when nothing waits or runs. */
  onIdle(): Promise<void> {
    if (this.#unfinished === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #full(message: string): GlmbotError {
    const { concurrency } = this.#opts;
    const rounds = Math.ceil((this.waiting + 1) / concurrency);
    const retryAfterSeconds = Math.min(3600, Math.max(1, Math.ceil((this.#avgRunMs * rounds) / 1000)));
    return new GlmbotError("queue_full", message, { retryAfterSeconds });
  }

  /** Starts jobs while p-queue has a free slot; returns whether any started (positions are then updated). */
  #pump(): boolean {
    let started = false;
    while (this.#limiter.pending + this.#limiter.size < this.#limiter.concurrency && this.#ring.length > 0) {
      started = true;
      const key = this.#ring.shift()!;
      const job = this.#fifos.get(key)!.shift()!;
      job.state = "running";
      job.pos = 0;
      this.#running.set(key, job);
      void this.#limiter.add(() => this.#execute(job));
    }
    if (started) this.#updatePositions();
    return started;
  }

  async #execute(job: Job): Promise<void> {
    const { clock, deadlineMs, abortGraceMs } = this.#opts;
    const { signal } = job.controller;
    const startedAt = clock.now();
    const timers = [clock.setTimeout(() => job.controller.abort(timeoutError(deadlineMs)), deadlineMs)];
    let abandon!: () => void;
    const abandoned = new Promise<"abandoned">((r) => (abandon = () => r("abandoned")));
    const onAbort = () => timers.push(clock.setTimeout(abandon, abortGraceMs));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    const finished = Promise.resolve()
      .then(() => job.spec.run(signal))
      .then(
        () => "finished" as const,
        (error: unknown) => {
          this.#opts.onError?.(error);
          return "finished" as const;
        },
      );
    const how = await Promise.race([finished, abandoned]);
    signal.removeEventListener("abort", onAbort);
    for (const timer of timers) clock.clearTimeout(timer);
    this.#avgRunMs = 0.7 * this.#avgRunMs + 0.3 * Math.max(0, clock.now() - startedAt);
    this.#running.delete(job.key);
    const fifo = this.#fifos.get(job.key);
    if (fifo && fifo.length > 0) this.#ring.push(job.key);
    else this.#fifos.delete(job.key);
    this.#settle(job, how === "finished" ? { status: "finished" } : { status: "abandoned", reason: signal.reason as GlmbotError });
  }

  #cancel(job: Job, reason: GlmbotError): void {
    if (job.state === "running") {
      if (!job.controller.signal.aborted) job.controller.abort(reason);
      return;
    }
    if (job.state !== "waiting") return;
    const fifo = this.#fifos.get(job.key)!;
    fifo.splice(fifo.indexOf(job), 1);
    if (fifo.length === 0) {
      this.#ring = this.#ring.filter((key) => key !== job.key);
      if (!this.#running.has(job.key)) this.#fifos.delete(job.key);
    }
    job.controller.abort(reason);
    this.#settle(job, { status: "dropped", reason });
  }

  #settle(job: Job, end: FairJobEnd): void {
    job.state = "done";
    job.pos = 0;
    this.#unfinished--;
    const count = (this.#perUser.get(job.spec.userId) ?? 1) - 1;
    if (count > 0) this.#perUser.set(job.spec.userId, count);
    else this.#perUser.delete(job.spec.userId);
    job.resolve(end);
    this.#updatePositions();
    if (this.#unfinished === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  /** Estimated start order: round-robin over the ring, then over keys that wait behind a running job. */
  #updatePositions(): void {
    const order = [...this.#ring, ...[...this.#running.keys()].filter((key) => this.#fifos.get(key)!.length > 0)];
    let position = 0;
    for (let round = 0, more = true; more; round++) {
      more = false;
      for (const key of order) {
        const job = this.#fifos.get(key)![round];
        if (!job) continue;
        more = true;
        position++;
        if (job.pos === position) continue;
        job.pos = position;
        try {
          job.spec.onPosition?.(position);
        } catch (error) {
          this.#opts.onError?.(error);
        }
      }
    }
  }
}

function timeoutError(deadlineMs: number): GlmbotError {
  return new GlmbotError("generation_timeout", `The reply took longer than ${Math.round(deadlineMs / 1000)} s and was stopped.`, { deadlineMs });
}
