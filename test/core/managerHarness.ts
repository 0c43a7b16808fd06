import { ConversationManager, type ConversationManagerOptions } from "../../src/core/ConversationManager.js";
import { type ConversationStore, createConversationStore } from "../../src/core/memory.js";
import type { CoreMetricEvents } from "../../src/core/metrics.js";
import type { ConversationRef, InboundMessage } from "../../src/core/ports.js";
import { FakeClock } from "../fixtures/FakeClock.js";
import { FakeEngine, type FakeEngineOptions } from "./FakeEngine.js";

export const DAY = 86_400_000;
export const SYSTEM = "You are glmbot, a helpful assistant.";

export interface Harness {
  clock: FakeClock;
  engine: FakeEngine;
  store: ConversationStore;
  manager: ConversationManager;
  /** Every metrics event, in order. */
  events: { name: keyof CoreMetricEvents; data: Record<string, unknown> }[];
  /** Shuts the manager down (aborting anything still running) and closes the store. */
  close(): Promise<void>;
}

export interface HarnessOptions {
  engine?: FakeEngineOptions;
  manager?: Partial<ConversationManagerOptions>;
  /** Reuse a store (restart tests); default a fresh in-memory SQLite store. */
  store?: ConversationStore;
  clock?: FakeClock;
}

export async function setup(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new FakeClock();
  const engine = new FakeEngine(options.engine);
  const store =
    options.store ?? (await createConversationStore({ url: "sqlite://:memory:", dataDir: "/nonexistent", maxTurns: 500, idleTtlMs: DAY, now: () => clock.now() }));
  const manager = new ConversationManager({
    engine,
    store,
    clock,
    defaults: { systemPrompt: SYSTEM, maxTokens: 64, temperature: 0 },
    ...options.manager,
  });
  const events: Harness["events"] = [];
  const names: (keyof CoreMetricEvents)[] = ["queue_wait", "first_token", "tokens_per_second", "prompt_tokens", "completion_tokens", "dropped_turns", "refusal", "job_failed", "job_done", "queue_depth"];
  for (const name of names) manager.events.on(name, (data: object) => events.push({ name, data: data as Record<string, unknown> }));
  return {
    clock,
    engine,
    store,
    manager,
    events,
    async close() {
      const down = manager.shutdown({ graceMs: 0 });
      clock.advance(60_000); // fire the grace timer and any abort-grace timers (default 5 s)
      await down;
      if (!options.store) await store.close();
    },
  };
}

export const shared = (key = "discord:G1:C1"): ConversationRef => ({ key, kind: "shared" });
export const direct = (key = "webhook:client:conv-1"): ConversationRef => ({ key, kind: "direct" });

export const ALICE = { id: "U-alice", displayName: "Alice" };
export const BOB = { id: "U-bob", displayName: "Bob" };

export function message(conversation: ConversationRef, author: { id: string; displayName: string }, text: string, extra: Partial<InboundMessage> = {}): InboundMessage {
  return { conversation, author, text, ...extra };
}

/** Lets pending callbacks (setImmediate-paced fake streaming, store I/O) run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
