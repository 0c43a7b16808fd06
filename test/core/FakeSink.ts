import type { GlmbotError } from "../../src/core/errors.js";
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "../../src/core/ports.js";

/** A recording {@link ReplySink}. `endThrows` makes delivery fail; `receipt` is returned from `end`. */
export class FakeSink implements ReplySink {
  readonly positions: number[] = [];
  readonly log: string[] = [];
  startedCount = 0;
  text = "";
  outcome: ReplyOutcome | undefined;
  error: GlmbotError | undefined;
  endThrows = false;
  receipt: DeliveryReceipt = { platformMessageIds: ["reply-1"] };
  readonly settled: Promise<void>;
  #settle!: () => void;

  constructor(init: { endThrows?: boolean; receipt?: DeliveryReceipt } = {}) {
    Object.assign(this, init);
    this.settled = new Promise((resolve) => (this.#settle = resolve));
  }

  queued(position: number): void {
    this.positions.push(position);
    this.log.push(`queued ${position}`);
  }

  started(): void {
    this.startedCount++;
    this.log.push("started");
  }

  write(delta: string): void {
    this.text += delta;
  }

  async end(outcome: ReplyOutcome): Promise<DeliveryReceipt> {
    this.log.push(`end ${outcome.finishReason}`);
    this.outcome = outcome;
    this.#settle();
    if (this.endThrows) throw new Error("platform rejected the message");
    return this.receipt;
  }

  fail(error: GlmbotError): void {
    this.log.push(`fail ${error.code}`);
    this.error = error;
    this.#settle();
  }
}
