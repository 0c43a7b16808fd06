/**
 * The webhook's {@link ReplySink}. The final answer is taken from `JobHandle.done` (resolved after `end` /
 * `fail`), so the sink only forwards text deltas for streaming requests. Deltas written before the SSE
 * stream is attached (core may start before `submit` resolves) are buffered and flushed on attach.
 */
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "../../core/ports.js";
import type { GlmbotError } from "../../core/errors.js";

export class WebhookSink implements ReplySink {
  private forward?: (delta: string) => void;
  private pending: string[] | null;

  /** @param streaming keep deltas for {@link attach}; when false, deltas are dropped (the reply comes in the outcome). */
  constructor(streaming: boolean) {
    this.pending = streaming ? [] : null;
  }

  /** Sends buffered and future deltas to `forward`. */
  attach(forward: (delta: string) => void): void {
    const buffered = this.pending ?? [];
    this.pending = null;
    for (const delta of buffered) forward(delta);
    this.forward = forward;
  }

  write(delta: string): void {
    if (this.forward) this.forward(delta);
    else this.pending?.push(delta);
  }

  end(_outcome: ReplyOutcome): DeliveryReceipt | void {
    // Delivered by the route from JobHandle.done.
  }

  fail(_error: GlmbotError): void {
    // Reported by the route from JobHandle.done.
  }
}
