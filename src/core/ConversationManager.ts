import { EventEmitter } from "node:events";
import { type Clock, systemClock } from "./clock.js";
import { runCommand } from "./commands.js";
import { GlmbotError, isGlmbotError } from "./errors.js";
import { FairQueue } from "./FairQueue.js";
import { GuardedSink } from "./GuardedSink.js";
import { type Logger, silentLogger, withFields } from "./logger.js";
import type { ConversationStore } from "./memory.js";
import type { CoreMetricEvents } from "./metrics.js";
import type { ChatTurn, Command, ConversationRef, ConversationService, GenerateOptions, InboundMessage, InferenceEngine, JobHandle, ReplySink, StoredTurn } from "./ports.js";
import { systemTurns, userTurnOf } from "./prompt.js";
import { KeyedChain } from "./keyedChain.js";
import { type JobContext, type JobDeps, type JobResult, runJob } from "./runJob.js";
import { inputTooLong } from "./window.js";

export interface ConversationManagerOptions {
  engine: InferenceEngine;
  store: ConversationStore;
  defaults: {
    /** Used when neither the conversation (`system` command) nor the request sets one; "" for none. */
    systemPrompt: string;
    /** Tokens reserved for the reply; the prompt budget is contextSize − maxTokens. */
    maxTokens: number;
  } & Omit<GenerateOptions, "maxTokens" | "signal" | "onTextChunk" | "conversationKey">;
  queue?: {
    /** Max unfinished jobs (waiting + running); default 64. */
    maxPending?: number;
    /** Max unfinished jobs per user (platform + author id, so a webhook `user` cannot use up a Discord member's slots); default 3. */
    maxPendingPerUser?: number;
    /** Per-job deadline from its start, ms; default 120 000. */
    deadlineMs?: number;
    /** How long an aborted generation may take to stop before its slot is freed anyway, ms; default 5 000. */
    abortGraceMs?: number;
  };
  /** Context window in tokens; default `engine.info.contextSize`. */
  contextSize?: number;
  logger?: Logger;
  /** Clock and timers; default the real ones. */
  clock?: Clock;
}

/**
 * Core's implementation of {@link ConversationService}: admission (fast refusals), the fair queue,
 * per-job execution ({@link runJob}), commands, metrics events and graceful shutdown.
 *
 * Admission is serialized per conversation key, so messages of one conversation enter the queue in
 * arrival order even though admission awaits memory and the tokenizer.
 */
export class ConversationManager implements ConversationService {
  /** Metrics events for operators (see {@link CoreMetricEvents}). */
  readonly events = new EventEmitter<CoreMetricEvents>();
  readonly #engine: InferenceEngine;
  readonly #store: ConversationStore;
  readonly #defaults: ConversationManagerOptions["defaults"];
  readonly #contextSize: number;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #queue: FairQueue;
  readonly #admission = new KeyedChain();
  /** Bumped by `reset` while a key has jobs; a job stores its exchange only if unchanged since submit. */
  readonly #epochs = new Map<string, number>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #deps: JobDeps;
  #emptyPromptTokens: Promise<number> | undefined;
  #closing = false;
  #shutdown: Promise<void> | undefined;

  constructor(options: ConversationManagerOptions) {
    this.#engine = options.engine;
    this.#store = options.store;
    this.#defaults = options.defaults;
    this.#contextSize = options.contextSize ?? options.engine.info.contextSize;
    this.#log = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#queue = new FairQueue({
      ...options.queue,
      concurrency: Math.max(1, options.engine.info.sequences),
      clock: this.#clock,
      onError: (err) => this.#log.error({ err }, "queued job failed unexpectedly"),
    });
    this.#deps = {
      engine: this.#engine,
      store: this.#store,
      clock: this.#clock,
      events: this.events,
      log: this.#log,
      turnTokens: (turn) => this.#turnTokens(turn),
    };
  }

  async submit(message: InboundMessage, sink: ReplySink): Promise<JobHandle> {
    const key = message.conversation.key;
    const submittedAt = this.#clock.now();
    try {
      return await this.#admission.run(key, () => this.#admit(message, sink, submittedAt));
    } catch (error) {
      const refusal = isGlmbotError(error)
        ? error
        : new GlmbotError("generation_failed", "The bot could not accept the message. Please try again.", {}, { cause: error });
      this.events.emit("refusal", { key, code: refusal.code });
      if (!isGlmbotError(error)) this.#log.error({ err: error, key }, "admission failed");
      throw refusal;
    }
  }

  async command(conversation: ConversationRef, command: Command): Promise<string> {
    return runCommand(
      {
        conversation,
        store: this.#store,
        queue: this.#queue,
        modelName: this.#engine.info.modelName,
        defaultSystemPrompt: this.#defaults.systemPrompt,
        budget: this.#contextSize - this.#defaults.maxTokens,
        countTokens: (turns) => this.#engine.countTokens(turns),
        reset: () => this.reset(conversation.key),
      },
      command,
    );
  }

  async history(conversationKey: string): Promise<StoredTurn[]> {
    return (await this.#store.get(conversationKey))?.turns ?? [];
  }

  async reset(conversationKey: string): Promise<void> {
    if (this.#queue.hasJobs(conversationKey)) this.#epochs.set(conversationKey, (this.#epochs.get(conversationKey) ?? 0) + 1);
    await this.#store.reset(conversationKey);
  }

  /**
   * Stops accepting (`shutting_down`), fails every waiting job with `shutting_down`, lets running jobs
   * finish for up to `graceMs` (default 10 000), then aborts them (their users get `shutting_down`).
   * Resolves when every sink has been told and every delivered exchange stored. Does not close the
   * engine or the store. Idempotent.
   */
  shutdown(options: { graceMs?: number } = {}): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#closing = true;
      const reason = new GlmbotError("shutting_down", "The bot is restarting. Please send your message again in a minute.");
      this.#queue.close(reason);
      const timer = this.#clock.setTimeout(() => this.#queue.abortRunning(reason), options.graceMs ?? 10_000);
      await this.#queue.onIdle();
      await Promise.all(this.#inFlight);
      this.#clock.clearTimeout(timer);
    })();
    return this.#shutdown;
  }

  #emitDepth(): void {
    this.events.emit("queue_depth", { depth: this.#queue.waiting });
  }

  async #admit(message: InboundMessage, sink: ReplySink, submittedAt: number): Promise<JobHandle> {
    const key = message.conversation.key;
    this.#assertOpen();
    // Refuse an over-bound request before the memory read and the tokenizer: refusals must stay cheap under load.
    const queueUser = queueUserOf(message);
    this.#queue.assertCapacity(queueUser);
    const maxTokens = message.overrides?.maxTokens ?? this.#defaults.maxTokens;
    if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens >= this.#contextSize) {
      throw new GlmbotError("invalid_request", `max_tokens must be an integer from 1 to ${this.#contextSize - 1}.`);
    }
    const budget = this.#contextSize - maxTokens;
    const userTurn = userTurnOf(message);
    const systemPrompt = message.overrides?.system ?? (await this.#store.get(key))?.systemPrompt ?? this.#defaults.systemPrompt;
    const alone = await this.#engine.countTokens([...systemTurns(systemPrompt), userTurn]);
    if (alone > budget) throw inputTooLong(alone, budget);
    this.#assertOpen();

    const epoch = this.#epochs.get(key) ?? 0;
    const { systemPrompt: defaultSystemPrompt, maxTokens: _maxTokens, ...sampling } = this.#defaults;
    let jobId = "";
    const jobLog = withFields(this.#log, () => ({ key, jobId }));
    const guarded = new GuardedSink(sink, jobLog);
    let result: JobResult | undefined;
    const context: JobContext = {
      id: "",
      message,
      sink: guarded,
      userTurn,
      submittedAt,
      defaultSystemPrompt,
      sampling: { ...sampling, maxTokens, temperature: message.overrides?.temperature ?? sampling.temperature },
      budget,
      isCurrent: () => (this.#epochs.get(key) ?? 0) === epoch,
    };
    const job = this.#queue.enqueue({
      key,
      userId: queueUser,
      run: async (signal) => {
        this.#emitDepth();
        result = await runJob({ ...this.#deps, log: jobLog }, context, signal);
      },
      onPosition: (position) => guarded.queued(position),
    });
    context.id = jobId = job.id;
    this.#emitDepth();
    const done = job.done.then(async (end): Promise<JobResult> => {
      if (end.status === "finished" && result) return result;
      const error = end.status === "finished" ? new GlmbotError("generation_failed", "The model failed to generate a reply.") : end.reason;
      if (!guarded.settled) this.events.emit("job_failed", { key, code: error.code });
      await guarded.fail(error);
      return { error };
    });
    this.#inFlight.add(done);
    void done.finally(() => {
      this.#inFlight.delete(done);
      if (!this.#queue.hasJobs(key)) this.#epochs.delete(key);
      this.#emitDepth();
    });
    return { id: job.id, position: () => job.position(), cancel: () => job.cancel(), done };
  }

  #assertOpen(): void {
    if (this.#closing) throw new GlmbotError("shutting_down", "The bot is restarting. Please try again in a minute.");
  }

  /** Tokens a turn adds to a rendered prompt: count([turn]) − count([]). */
  async #turnTokens(turn: ChatTurn): Promise<number> {
    this.#emptyPromptTokens ??= this.#engine.countTokens([]).catch((error: unknown) => {
      this.#emptyPromptTokens = undefined;
      throw error;
    });
    return (await this.#engine.countTokens([turn])) - (await this.#emptyPromptTokens);
  }
}

/**
 * The identity the per-user queue bound counts: the platform (the conversation key's first segment, e.g.
 * `discord`, `slack`, `webhook`) plus the author id, since author ids are only unique within a platform and a
 * webhook client chooses its `user` freely.
 */
function queueUserOf(message: InboundMessage): string {
  const key = message.conversation.key;
  const platform = key.includes(":") ? key.slice(0, key.indexOf(":")) : "";
  return `${platform}:${message.author.id}`;
}
