import type { Clock } from "../../core/clock.js";
import { systemClock } from "../../core/clock.js";

export interface EditPacerOptions<T> {
  /**
   * Brings the platform up to date with `value` (post or edit messages). Called one at a time, never
   * concurrently; it should be idempotent, since a rate-limited value is applied again.
   */
  apply(value: T): Promise<void>;
  /** Minimum time from the end of one `apply` to the start of the next, ms. Default 1000. */
  intervalMs?: number;
  /**
   * Recognizes a rate-limit error and returns how long to wait before trying again (ms), e.g. from a 429's
   * `retry_after` (seconds, Discord) or `Retry-After` header (Slack); `undefined` for any other error.
   */
  retryAfterMs?(error: unknown): number | undefined;
  /** A rate limit asking for longer than this (ms) counts as a failure. Default 60 000. */
  maxRetryAfterMs?: number;
  /** Rate limits in a row after which the final value fails. Default 5. */
  maxRateLimitRetries?: number;
  /** A failed intermediate apply (not a rate limit): reported here, then the next value is tried. */
  onError?(error: unknown): void;
  /** Clock and timers (core's {@link Clock}); default the real ones. */
  clock?: Clock;
}

interface Item<T> {
  value: T;
  final: boolean;
  rateLimits: number;
}

/**
 * Coalesces a stream of desired states (e.g. "the reply text so far") into paced platform updates:
 * - `update(value)` replaces any value not yet applied; values are applied at most once per `intervalMs`
 *   (measured from the end of the previous apply, so a server sees its requests at least that far apart);
 * - applies are serialized: never two at once;
 * - a rate-limited apply (see `retryAfterMs`) waits out the requested time (and at least the interval),
 *   then applies the newest value — nothing is sent while waiting;
 * - `finish(value)` applies the final value (after the interval), retrying rate limits, and resolves once
 *   it is applied; it is never dropped or coalesced away.
 *
 * Errors: `finish` rejects with the apply's error when the final value cannot be applied (a non-rate-limit
 * error, a rate limit over `maxRetryAfterMs`, or more than `maxRateLimitRetries` in a row). Intermediate
 * failures only go to `onError`.
 */
export class EditPacer<T> {
  readonly #opts: Required<Omit<EditPacerOptions<T>, "onError">> & Pick<EditPacerOptions<T>, "onError">;
  #pending: Item<T> | undefined;
  #running = false;
  #timer: unknown;
  /** Earliest time of the next apply. */
  #notBefore = Number.NEGATIVE_INFINITY;
  #finished = false;
  #settle: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(options: EditPacerOptions<T>) {
    this.#opts = {
      apply: options.apply,
      intervalMs: options.intervalMs ?? 1000,
      retryAfterMs: options.retryAfterMs ?? (() => undefined),
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      maxRateLimitRetries: options.maxRateLimitRetries ?? 5,
      clock: options.clock ?? systemClock,
      onError: options.onError,
    };
  }

  /** Desire `value`; it replaces any value not yet applied. Ignored after `finish`. */
  update(value: T): void {
    if (this.#finished) return;
    this.#pending = { value, final: false, rateLimits: 0 };
    this.#kick();
  }

  /** Apply `value` as the last state. Resolves when it is applied; see the class doc for rejections. Call once. */
  finish(value: T): Promise<void> {
    if (this.#finished) return Promise.reject(new Error("EditPacer.finish called twice"));
    this.#finished = true;
    this.#pending = { value, final: true, rateLimits: 0 };
    const done = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#kick();
    return done;
  }

  /** Stops without applying anything more (pending values are dropped; a pending `finish` rejects). */
  abandon(): void {
    this.#finished = true;
    this.#pending = undefined;
    if (this.#timer !== undefined) this.#opts.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#settle?.reject(new Error("abandoned"));
    this.#settle = undefined;
  }

  #kick(): void {
    if (this.#running || this.#timer !== undefined || !this.#pending) return;
    const wait = this.#notBefore - this.#opts.clock.now();
    if (wait > 0) {
      this.#timer = this.#opts.clock.setTimeout(() => {
        this.#timer = undefined;
        this.#kick();
      }, wait);
      return;
    }
    void this.#run(this.#pending);
  }

  async #run(item: Item<T>): Promise<void> {
    const { clock, intervalMs } = this.#opts;
    this.#pending = undefined;
    this.#running = true;
    try {
      await this.#opts.apply(item.value);
      this.#notBefore = clock.now() + intervalMs;
      if (item.final) this.#resolve();
    } catch (error) {
      const retryAfter = this.#opts.retryAfterMs(error);
      this.#notBefore = clock.now() + Math.max(intervalMs, retryAfter ?? 0);
      const retry = retryAfter !== undefined && retryAfter <= this.#opts.maxRetryAfterMs;
      if (retry && item.rateLimits < this.#opts.maxRateLimitRetries) {
        // Try again with this value unless a newer one (or the final one) arrived meanwhile.
        this.#pending ??= { ...item, rateLimits: item.rateLimits + 1 };
      } else if (item.final) {
        this.#settle?.reject(error);
        this.#settle = undefined;
      } else {
        this.#opts.onError?.(error);
      }
    } finally {
      this.#running = false;
    }
    this.#kick();
  }

  #resolve(): void {
    this.#settle?.resolve();
    this.#settle = undefined;
  }
}
