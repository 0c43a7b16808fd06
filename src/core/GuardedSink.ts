import { GlmbotError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "./ports.js";

/** Whether `end` reached the user. */
export type Delivery = { delivered: true; receipt: DeliveryReceipt } | { delivered: false; error: GlmbotError };

/**
 * Wraps an adapter's {@link ReplySink} so that core keeps the sink contract whatever happens: `started` at
 * most once, nothing after the outcome, exactly one of `end` or `fail`. A throwing `queued`/`started`/
 * `write` is logged and ignored (the reply goes on); a throwing `end` means "not delivered"
 * (`delivery_failed`); a throwing `fail` is logged.
 */
export class GuardedSink {
  readonly #sink: ReplySink;
  readonly #log: Logger;
  #started = false;
  #settled = false;

  constructor(sink: ReplySink, log: Logger) {
    this.#sink = sink;
    this.#log = log;
  }

  /** True once `end` or `fail` has been called. */
  get settled(): boolean {
    return this.#settled;
  }

  queued(position: number): void {
    if (!this.#started && !this.#settled) this.#call("queued", () => this.#sink.queued?.(position));
  }

  started(): void {
    if (this.#started || this.#settled) return;
    this.#started = true;
    this.#call("started", () => this.#sink.started?.());
  }

  write(delta: string): void {
    if (!this.#settled) this.#call("write", () => this.#sink.write(delta));
  }

  /** Hands the outcome to the adapter; resolves with whether it was delivered. Never rejects. */
  async end(outcome: ReplyOutcome): Promise<Delivery> {
    if (this.#settled) return { delivered: false, error: new GlmbotError("delivery_failed", "The reply was already closed.") };
    this.#settled = true;
    try {
      const receipt = await this.#sink.end(outcome);
      return { delivered: true, receipt: receipt ?? {} };
    } catch (cause) {
      this.#log.warn({ err: cause, jobId: outcome.jobId }, "reply could not be delivered");
      return { delivered: false, error: new GlmbotError("delivery_failed", "The reply could not be delivered.", {}, { cause }) };
    }
  }

  /** Tells the user why there is no (complete) reply. No-op once settled. Never rejects. */
  async fail(error: GlmbotError): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    try {
      await this.#sink.fail(error);
    } catch (err) {
      this.#log.warn({ err, code: error.code }, "reply sink fail() threw");
    }
  }

  #call(method: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.warn({ err, method }, "reply sink threw");
    }
  }
}
