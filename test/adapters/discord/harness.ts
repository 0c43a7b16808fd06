/**
 * End-to-end harness for the Discord adapter: the fake Discord on 127.0.0.1, the real discord.js client
 * (through the adapter), core's real ConversationManager and memory store, and a real LlamaEngine over a
 * generated scripted model (greedy decoding answers exactly `reply`). One CPU Llama per test process,
 * one thread; engines are cached per model and disposed by {@link disposeEngines}.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import { createDiscordAdapter, type DiscordAdapter } from "../../../src/adapters/discord/DiscordAdapter.js";
import { DiscordSectionSchema, type DiscordSection } from "../../../src/adapters/discord/config.js";
import type { DiscordAdapterEvents } from "../../../src/adapters/discord/interactions.js";
import { ConversationManager } from "../../../src/core/ConversationManager.js";
import type { Logger } from "../../../src/core/logger.js";
import { createConversationStore, type ConversationStore } from "../../../src/core/memory.js";
import type { InferenceEngine } from "../../../src/core/ports.js";
import { createLlamaEngine } from "../../../src/inference/index.js";
import { FakeDiscord } from "../../fixtures/fakeDiscord/FakeDiscord.js";
import { testModelPath, type TestModelOptions } from "../../fixtures/testModels.js";

let llama: Promise<Llama> | undefined;
const engines = new Map<string, Promise<InferenceEngine>>();

/** The process's one CPU Llama (prebuilt binary only, one thread, quiet). */
export function sharedLlama(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: "never", maxThreads: 1, logLevel: LlamaLogLevel.error, logger: () => undefined });
  return llama;
}

/** A LlamaEngine over a scripted test model (cached per model + context size). */
export function scriptedEngine(model: Omit<TestModelOptions, "flavor"> & { flavor?: TestModelOptions["flavor"] }, contextSize = 2048): Promise<InferenceEngine> {
  const options: TestModelOptions = { flavor: "chatglm3", ...model };
  const key = JSON.stringify([options, contextSize]);
  let engine = engines.get(key);
  if (!engine) {
    engine = (async () =>
      createLlamaEngine({
        modelPath: await testModelPath(options),
        llama: await sharedLlama(),
        gpu: false,
        threads: 1,
        sequences: 2,
        contextSize,
        logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
        defaults: { temperature: 0, seed: 1 },
      }))();
    engines.set(key, engine);
  }
  return engine;
}

/**
 * An InferenceEngine that delegates to whichever scripted engine the test selects with {@link use}, so one
 * stack (one discord.js login) can serve replies from several scripted models. All engines share the same
 * context size and sequence count.
 */
export class SwitchableEngine implements InferenceEngine {
  #current: InferenceEngine;
  constructor(initial: InferenceEngine) {
    this.#current = initial;
  }
  use(engine: InferenceEngine): void {
    this.#current = engine;
  }
  get info() {
    return this.#current.info;
  }
  countTokens(turns: Parameters<InferenceEngine["countTokens"]>[0]) {
    return this.#current.countTokens(turns);
  }
  generate(turns: Parameters<InferenceEngine["generate"]>[0], options: Parameters<InferenceEngine["generate"]>[1]) {
    return this.#current.generate(turns, options);
  }
  async dispose(): Promise<void> {}
}

export async function disposeEngines(): Promise<void> {
  for (const engine of engines.values()) await (await engine).dispose();
  engines.clear();
}

/** A logger that keeps every line. */
export function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string; obj: object }> } {
  const lines: Array<{ level: string; msg: string; obj: object }> = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, msg: msg ?? "", obj });
    if (process.env.GLMBOT_TEST_LOG) console.error(`[${level}] ${msg ?? ""}`, obj);
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

type Done = DiscordAdapterEvents["done"][0];
type Ignored = DiscordAdapterEvents["ignored"][0];

export interface Stack {
  fake: FakeDiscord;
  adapter: DiscordAdapter;
  manager: ConversationManager;
  store: ConversationStore;
  logger: ReturnType<typeof recordingLogger>;
  /** Resolves when the reply to `messageId` is over (delivered or failed). */
  done(messageId: string, timeoutMs?: number): Promise<Done>;
  /** Resolves when `messageId` was ignored, with the reason. */
  ignored(messageId: string, timeoutMs?: number): Promise<Ignored>;
  /** Conversation key of #general. */
  generalKey: string;
  stop(): Promise<void>;
}

/** Starts fake Discord + core + adapter and waits until the adapter is connected. */
export async function startStack(
  options: { engine: InferenceEngine; discord?: Partial<DiscordSection>; maxTokens?: number; deadlineMs?: number; fake?: FakeDiscord },
): Promise<Stack> {
  const fake = options.fake ?? (await FakeDiscord.start());
  const dataDir = await mkdtemp(path.join(tmpdir(), "glmbot-discord-"));
  const store = await createConversationStore({ dataDir, maxTurns: 100, idleTtlMs: 0 });
  const manager = new ConversationManager({
    engine: options.engine,
    store,
    defaults: { systemPrompt: "", maxTokens: options.maxTokens ?? 512, temperature: 0, seed: 1 },
    queue: { deadlineMs: options.deadlineMs ?? 120_000 },
  });
  const logger = recordingLogger();
  const adapter = createDiscordAdapter({
    options: { ...DiscordSectionSchema.parse({ apiBase: fake.apiBase, editIntervalMs: 100, ...options.discord }), token: "fake-bot-token" },
    service: manager,
    logger,
  });
  const doneEvents = new Map<string, Done>();
  const ignoredEvents = new Map<string, Ignored>();
  adapter.events.on("done", (event) => doneEvents.set(event.messageId, event));
  adapter.events.on("ignored", (event) => ignoredEvents.set(event.messageId, event));
  const waitFor = <T>(map: Map<string, T>, event: "done" | "ignored", messageId: string, timeoutMs = 30_000): Promise<T> =>
    new Promise((resolve, reject) => {
      if (map.has(messageId)) return resolve(map.get(messageId)!);
      const timer = setTimeout(() => reject(new Error(`no "${event}" event for message ${messageId}`)), timeoutMs);
      const listener = (e: { messageId: string }) => {
        if (e.messageId !== messageId) return;
        clearTimeout(timer);
        adapter.events.off(event, listener);
        resolve(map.get(messageId)!);
      };
      adapter.events.on(event, listener);
    });
  try {
    await adapter.start();
  } catch (err) {
    await adapter.stop();
    await fake.close();
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    fake,
    adapter,
    manager,
    store,
    logger,
    done: (id, t) => waitFor(doneEvents, "done", id, t),
    ignored: (id, t) => waitFor(ignoredEvents, "ignored", id, t),
    generalKey: `discord:${fake.ids.guild}:${fake.ids.general}`,
    async stop() {
      await manager.shutdown({ graceMs: 0 });
      await adapter.stop();
      await fake.close();
      await store.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The REST writes of one bot message: its create, then its edits, in arrival order. */
export function writesOf(fake: FakeDiscord, messageId: string): Array<{ at: number; method: string; content: string; components: unknown[] }> {
  return fake
    .callsWhere((c) => (c.method === "POST" && c.status === 200 && c.response?.id === messageId) || (c.method === "PATCH" && c.path.endsWith(`/messages/${messageId}`)))
    .map((c) => ({ at: c.at, method: c.method, content: c.body.content, components: c.body.components ?? [] }));
}
