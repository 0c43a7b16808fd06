/**
 * A faithful in-memory {@link ConversationService} for adapter tests. Each accepted message becomes a job
 * that calls the sink in the port's order (`queued` → `started` → `write`… → `end` | `fail`), then resolves
 * `done`. Scriptable: the reply deltas and finish reason, refusals (`refuse`), and slowness without timers
 * (`hold()` parks every job before delta `script.pauseAt` (default the first) until `release()`). Counts generations,
 * cancellations and undelivered replies; stores exchanges as core does (only after `end` returned).
 */
import type {
  Command,
  ConversationRef,
  ConversationService,
  FinishReason,
  InboundMessage,
  JobHandle,
  ReplyOutcome,
  ReplySink,
  StoredTurn,
} from "../../../src/core/ports.js";
import { GlmbotError } from "../../../src/core/errors.js";

export interface Script {
  deltas: string[];
  finishReason?: FinishReason;
  /** With {@link FakeService.hold}: index of the delta before which the job parks (default 0). */
  pauseAt?: number;
  /** Fail the job with `generation_failed` instead of ending it. */
  fail?: boolean;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export class FakeService implements ConversationService {
  script: Script = { deltas: ["Hello", ", ", "world", "!"] };
  /** When set, every submit rejects with it (e.g. queue_full, input_too_long). */
  refuse?: GlmbotError;
  /** Generations that started (the model "ran"). */
  generations = 0;
  cancellations = 0;
  /** Jobs whose sink's `end` threw (not delivered, nothing stored). */
  undelivered = 0;
  readonly submitted: InboundMessage[] = [];
  readonly stored = new Map<string, StoredTurn[]>();
  readonly resets: string[] = [];
  private gate?: Deferred<void>;
  private startWaiters: Array<(jobId: string) => void> = [];
  private finishWaiters: Array<(jobId: string) => void> = [];
  private cancelWaiters: Array<() => void> = [];
  private seq = 0;

  /** Parks jobs before their first delta until {@link release}. */
  hold(): void {
    this.gate = deferred();
  }

  release(): void {
    this.gate?.resolve();
    this.gate = undefined;
  }

  /** Resolves with the id of the next job that starts generating. */
  nextStarted(): Promise<string> {
    return new Promise((r) => this.startWaiters.push(r));
  }

  /** Resolves with the id of the next job whose sink has been told (end/fail). */
  nextFinished(): Promise<string> {
    return new Promise((r) => this.finishWaiters.push(r));
  }

  /** Resolves at the next cancellation. */
  nextCancelled(): Promise<void> {
    return new Promise((r) => this.cancelWaiters.push(r));
  }

  async submit(message: InboundMessage, sink: ReplySink): Promise<JobHandle> {
    this.submitted.push(message);
    if (this.refuse) throw this.refuse;
    const id = `job-${++this.seq}`;
    const abort = new AbortController();
    const done = deferred<ReplyOutcome | { error: GlmbotError }>();
    let running = false;
    const handle: JobHandle = {
      id,
      position: () => (running ? 0 : 1),
      cancel: () => {
        if (abort.signal.aborted) return;
        this.cancellations++;
        abort.abort();
        for (const w of this.cancelWaiters.splice(0)) w();
      },
      done: done.promise,
    };
    const script = this.script;
    const gate = this.gate;
    setImmediate(() => {
      running = true;
      void this.run(id, message, sink, script, gate, abort.signal).then((result) => {
        done.resolve(result);
        for (const w of this.finishWaiters.splice(0)) w(id);
      });
    });
    sink.queued?.(1);
    return handle;
  }

  private async run(
    id: string,
    message: InboundMessage,
    sink: ReplySink,
    script: Script,
    gate: Deferred<void> | undefined,
    signal: AbortSignal,
  ): Promise<ReplyOutcome | { error: GlmbotError }> {
    this.generations++;
    sink.started?.();
    for (const w of this.startWaiters.splice(0)) w(id);
    const aborted = new Promise<void>((r) => signal.addEventListener("abort", () => r(), { once: true }));
    let text = "";
    for (let i = 0; i <= script.deltas.length; i++) {
      if (gate && i === (script.pauseAt ?? 0)) await Promise.race([gate.promise, aborted]);
      if (signal.aborted || i === script.deltas.length) break;
      sink.write(script.deltas[i]);
      text += script.deltas[i];
    }
    if (script.fail || (signal.aborted && text === "")) {
      const error = script.fail
        ? new GlmbotError("generation_failed", "the model failed")
        : new GlmbotError("cancelled", "cancelled before any text");
      await sink.fail(error);
      return { error };
    }
    const finishReason: FinishReason = signal.aborted ? "cancelled" : script.finishReason ?? "stop";
    const promptTokens = 10 + [...message.text].length;
    const completionTokens = [...text].length;
    const outcome: ReplyOutcome = {
      jobId: id,
      reply: text,
      finishReason,
      usage: { promptTokens, completionTokens },
      context: { window: 1536, used: promptTokens, droppedTurns: 0 },
    };
    // As core: stored only once `end` returned (a partial reply as `partial`); a throwing `end` means not
    // delivered: nothing stored, and the job's result is `delivery_failed`.
    try {
      await sink.end(outcome);
    } catch (cause) {
      this.undelivered++;
      return { error: new GlmbotError("delivery_failed", "The reply could not be delivered.", {}, { cause }) };
    }
    this.store(message, text, promptTokens, completionTokens, finishReason === "stop" || finishReason === "length" ? "delivered" : "partial");
    return outcome;
  }

  private store(m: InboundMessage, reply: string, promptTokens: number, completionTokens: number, delivery: StoredTurn["delivery"]): void {
    const turns = this.stored.get(m.conversation.key) ?? [];
    const base = { platformMessageIds: [], at: 1_700_000_000_000 + turns.length, delivery };
    turns.push({ ...base, role: "user", authorId: m.author.id, authorName: m.author.displayName, text: m.text, tokens: promptTokens });
    turns.push({ ...base, role: "assistant", authorId: "glmbot", authorName: "glmbot", text: reply, tokens: completionTokens });
    this.stored.set(m.conversation.key, turns);
  }

  async command(_conversation: ConversationRef, command: Command): Promise<string> {
    return `ok: ${command.name}`;
  }

  async history(conversationKey: string): Promise<StoredTurn[]> {
    return [...(this.stored.get(conversationKey) ?? [])];
  }

  async reset(conversationKey: string): Promise<void> {
    this.resets.push(conversationKey);
    this.stored.delete(conversationKey);
  }
}
