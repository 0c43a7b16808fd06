/**
 * Ports owned by core. Core depends only on these interfaces; `src/inference` implements
 * {@link InferenceEngine}, adapters implement {@link ReplySink} and call {@link ConversationService}.
 * Only the composition root (`src/main.ts`) wires concrete classes together.
 */

/** A role in a chat prompt. ChatGLM3 and GLM-4 also have `observation` (tool results); glmbot does not use it yet. */
export type Role = "system" | "user" | "assistant";

/**
 * One message as the model sees it. `content` is final text: core has already put the author's display
 * name into a shared-channel user turn. Content is never parsed for special tokens: a user typing
 * `<|assistant|>` produces plain-text tokens.
 */
export interface ChatTurn {
  role: Role;
  content: string;
}

/** Why a generation ended. `timeout` is decided by core (deadline), never by the engine. */
export type FinishReason = "stop" | "length" | "cancelled" | "timeout";

/** Per-request sampling and limits. Defaults are the engine's (documented there with their source). */
export interface GenerateOptions {
  /** Maximum completion tokens. */
  maxTokens: number;
  /** Sampling temperature; 0 means greedy decoding. */
  temperature?: number;
  topP?: number;
  topK?: number;
  repeatPenalty?: number;
  /** Seed for the sampler (deterministic with the same seed, model, prompt and thread count). */
  seed?: number;
  /** Aborting stops decoding within one token and frees the sequence; the promise then resolves with `finishReason: "cancelled"`. */
  signal?: AbortSignal;
  /** Called with each text delta as it is decoded. Deltas never split a UTF-8 character; role/control tokens never appear. */
  onTextChunk?: (text: string) => void;
  /**
   * The conversation key, for KV-cache affinity: a conversation that returns while a sequence still
   * holds its prefix evaluates only the new tokens.
   */
  conversationKey?: string;
}

/** What one generation produced. Token counts are model tokens, not characters. */
export interface GenerateResult {
  /** The complete reply text (leading newline of ChatGLM's empty metadata line stripped). */
  text: string;
  finishReason: Exclude<FinishReason, "timeout">;
  /** Tokens of the fully rendered prompt. */
  promptTokens: number;
  /** Prompt tokens actually evaluated (the rest were reused from the KV cache). */
  evaluatedPromptTokens: number;
  /** Tokens generated. */
  completionTokens: number;
}

/** Static facts about the loaded model. */
export interface EngineInfo {
  /** Display name (GGUF `general.name` or the file name). */
  modelName: string;
  /** Prompt format in use. */
  family: "chatglm3" | "glm4";
  /** Context window per sequence, in tokens. */
  contextSize: number;
  /** Parallel sequences (the number of generations that can run at once). */
  sequences: number;
}

/**
 * The one GPU-bound model, as core sees it.
 * Errors: `generate` rejects with a GlmbotError `generation_failed` on an engine failure; aborting is not an error.
 */
export interface InferenceEngine {
  readonly info: EngineInfo;
  /** Exact token count of the fully rendered prompt for `turns` (prefix, role tokens, final `<|assistant|>`), as the model will see it. */
  countTokens(turns: readonly ChatTurn[]): Promise<number>;
  /** Generate the assistant reply to `turns` (the last turn is the newest user message). */
  generate(turns: readonly ChatTurn[], options: GenerateOptions): Promise<GenerateResult>;
  /** Free the model, context and sequences. */
  dispose(): Promise<void>;
}

/** Where a conversation lives. */
export interface ConversationRef {
  /**
   * Stable key: platform + workspace/guild + channel (+ thread), a DM channel, or webhook client +
   * conversation_id, e.g. `discord:G1:C2:T3`, `slack:T1:C2:1712.000`, `webhook:alerts:incident-42`.
   * Built by the adapter; nothing from one key ever reaches another key's prompt.
   */
  key: string;
  /** `shared` channels put the author's display name into the user turn; `direct` (DMs, webhook) need not. */
  kind: "shared" | "direct";
}

/** One inbound user message, as an adapter hands it to core. */
export interface InboundMessage {
  conversation: ConversationRef;
  author: { id: string; displayName: string };
  /** The message text with the bot's own mention removed. */
  text: string;
  /** Platform message id(s) of the user's message, stored with the turn. */
  platformMessageIds?: string[];
  /** Per-request overrides (webhook). `system` replaces the conversation's system prompt for this request only. */
  overrides?: { system?: string; maxTokens?: number; temperature?: number };
}

/** What core reports when a job is done. */
export interface ReplyOutcome {
  jobId: string;
  reply: string;
  finishReason: FinishReason;
  usage: { promptTokens: number; completionTokens: number };
  /** `window`: context budget for the prompt (tokens); `used`: prompt tokens sent; `droppedTurns`: whole turns (user+assistant counted as 2) left out. */
  context: { window: number; used: number; droppedTurns: number };
}

/** Delivery receipt an adapter returns from {@link ReplySink.end}: the platform ids of the reply message(s). */
export interface DeliveryReceipt {
  platformMessageIds?: string[];
}

/**
 * The per-message reply channel an adapter gives core (as Bolt's events carry their own `ack`).
 * Core calls, in order: `queued` (0..n times, with the 1-based position as it moves), `started` (once, when
 * generation begins), `write` (0..n text deltas), then exactly one of `end` or `fail`.
 * If `end` throws/rejects, the reply counts as undelivered and is not stored as a normal assistant turn.
 */
export interface ReplySink {
  queued?(position: number): void;
  started?(): void;
  write(delta: string): void;
  end(outcome: ReplyOutcome): Promise<DeliveryReceipt | void> | DeliveryReceipt | void;
  fail(error: import("./errors.js").GlmbotError): Promise<void> | void;
}

/** A submitted job. */
export interface JobHandle {
  readonly id: string;
  /** 1-based position among jobs waiting to run; 0 once running or finished. */
  position(): number;
  /** Cancel a queued or running job (stop button, deleted message). The sink then gets `end` with `cancelled` (partial text) or `fail(cancelled)` if nothing was generated. */
  cancel(): void;
  /** Resolves when the sink has been told (end or fail). Never rejects. */
  readonly done: Promise<ReplyOutcome | { error: import("./errors.js").GlmbotError }>;
}

/** A stored turn, as listed by `GET /v1/conversations/:id` and `status`. */
export interface StoredTurn {
  role: "user" | "assistant";
  authorId: string;
  authorName: string;
  text: string;
  /** Tokens of this turn's rendered message. */
  tokens: number;
  /** Unix ms. */
  at: number;
  platformMessageIds: string[];
  delivery: "delivered" | "partial";
}

/** A command parsed by an adapter and executed by core. */
export type Command =
  | { name: "reset" }
  | { name: "system"; text: string }
  | { name: "system_reset" }
  | { name: "status" }
  | { name: "help" };

/** What adapters call. Implemented by core's ConversationManager. */
export interface ConversationService {
  /**
   * Accept a message: fails fast (rejects) with GlmbotError `input_too_long` (details `{tokens, limit}`),
   * `queue_full` (details `{retryAfterSeconds}`), `model_not_ready` or `shutting_down`; otherwise queues
   * the job and returns its handle at once (never waits for the model).
   */
  submit(message: InboundMessage, sink: ReplySink): Promise<JobHandle>;
  /** Run a command; resolves with the text to show the user. */
  command(conversation: ConversationRef, command: Command, author?: { id: string; displayName: string }): Promise<string>;
  /** Stored turns of a conversation, oldest first. */
  history(conversationKey: string): Promise<StoredTurn[]>;
  /** Forget a conversation (turns and its system prompt). */
  reset(conversationKey: string): Promise<void>;
}
