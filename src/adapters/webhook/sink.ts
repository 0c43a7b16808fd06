/**
 * The webhook's {@link ReplySink}. The final answer is taken from `JobHandle.done` (resolved after `end` /
 * `fail`), so the sink only forwards text deltas for streaming requests. Deltas written before the SSE
 * stream is attached (core may start before `submit` resolves) are buffered and flushed on attach.
 *
 * Delivery: core stores an exchange only when `end` returns. A sync or SSE client that disconnected
 * without an Idempotency-Key will never see the answer (a sync client saw nothing, an SSE client at most
 * some deltas, never the end), so the route marks the sink {@link gone} and `end` then throws: core
 * records `delivery_failed` and stores nothing. With an Idempotency-Key the answer waits for the retry and
 * is delivered then, so the sink is not marked and the exchange is stored.
 */
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "../../core/ports.js";
import { GlmbotError } from "../../core/errors.js";

export class WebhookSink implements ReplySink {
  private forward?: (delta: string) => void;
  private pending: string[] | null;
  private disconnected = false;

  /** @param streaming keep deltas for {@link attach}; when false, deltas are dropped (the reply comes in the outcome). */
  constructor(streaming: boolean) {
    this.pending = streaming ? [] : null;
  }

  /** True once {@link markGone} was called. */
  get gone(): boolean {
    return this.disconnected;
  }

  /** The client went away before its answer was written and will not come back for it: `end` throws from now on. */
  markGone(): void {
    this.disconnected = true;
    this.forward = undefined;
    this.pending = null;
  }

  /** Sends buffered and future deltas to `forward`. */
  attach(forward: (delta: string) => void): void {
    if (this.disconnected) return;
    const buffered = this.pending ?? [];
    this.pending = null;
    for (const delta of buffered) forward(delta);
    this.forward = forward;
  }

  write(delta: string): void {
    if (this.forward) this.forward(delta);
    else this.pending?.push(delta);
  }

  /** @throws GlmbotError `delivery_failed` when the client is {@link gone} (nothing is stored then). */
  end(_outcome: ReplyOutcome): DeliveryReceipt | void {
    // Otherwise delivered by the route from JobHandle.done.
    if (this.disconnected) throw new GlmbotError("delivery_failed", "The client disconnected before the answer.");
  }

  fail(_error: GlmbotError): void {
    // Reported by the route from JobHandle.done.
  }
}
