/**
 * The real Slack adapter (real Bolt App, real WebClient) + the real ConversationManager against a fake Slack
 * on 127.0.0.1. The engine is the caller's: a LlamaEngine on a scripted test model, or core's FakeEngine for
 * replies too long to script.
 */
import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveSlackOptions, type SlackOptions } from "../../../src/adapters/slack/config.js";
import { createSlackAdapter, type SlackAdapter } from "../../../src/adapters/slack/SlackAdapter.js";
import { ConversationManager } from "../../../src/core/ConversationManager.js";
import type { Logger } from "../../../src/core/logger.js";
import { createConversationStore, type ConversationStore } from "../../../src/core/memory.js";
import type { InferenceEngine, StoredTurn } from "../../../src/core/ports.js";
import { FakeSlack, type FakeMessage } from "../../fixtures/fakeSlack/FakeSlack.js";
import { eventCallback, sendSigned, type SendOptions } from "../../fixtures/fakeSlack/events.js";

export const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
export const USERS = [
  { id: "UALICE", name: "alice", displayName: "Alice" },
  { id: "UBOB", name: "bob", displayName: "Bob", realName: "Bob Builder" },
];

export interface LogLine {
  level: string;
  msg: string;
  obj: Record<string, unknown>;
}

export interface Harness {
  fake: FakeSlack;
  /** The current adapter (replaced by `restart`). */
  adapter: SlackAdapter;
  manager: ConversationManager;
  store: ConversationStore;
  options: SlackOptions;
  dataDir: string;
  logs: LogLine[];
  /** Resolves once `count` log lines with this message exist. */
  waitForLog(msg: string, count?: number): Promise<void>;
  /** POSTs a signed `event_callback` around `event` to the adapter (HTTP mode). */
  sendEvent(event: Record<string, unknown>, options?: Partial<SendOptions> & { eventId?: string }): Promise<{ status: number; text: string; eventId: string }>;
  /** Stored turns of a conversation once there are at least `turns` (core stores an exchange just after delivering it). */
  history(key: string, turns: number): Promise<StoredTurn[]>;
  /** Waits until the thread's last bot message is final (no Stop button) and satisfies `predicate`. */
  waitForReply(channel: string, threadTs: string | undefined, predicate?: (messages: FakeMessage[]) => boolean): Promise<FakeMessage[]>;
  /** Stops the adapter and starts a new one on the same data dir (a process restart, as far as Slack state goes). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  engine: InferenceEngine;
  mode?: "http" | "socket";
  slack?: Record<string, unknown>;
  /** Reuse a data dir (restart tests). */
  dataDir?: string;
  maxTokens?: number;
  contextSize?: number;
}

let eventSeq = 0;

export async function startHarness(o: HarnessOptions): Promise<Harness> {
  const fake = await FakeSlack.start({ users: USERS });
  const dataDir = o.dataDir ?? (await mkdtemp(path.join(tmpdir(), "glmbot-slack-")));
  const store = await createConversationStore({ dataDir, maxTurns: 100, idleTtlMs: 0 });
  const manager = new ConversationManager({ engine: o.engine, store, contextSize: o.contextSize, defaults: { systemPrompt: "", maxTokens: o.maxTokens ?? 48, temperature: 0 } });
  const env: Record<string, string> = { SLACK_BOT_TOKEN: "xoxb-test-token", SLACK_API_URL: fake.apiUrl, SLACK_SIGNING_SECRET: SIGNING_SECRET };
  if (o.mode === "socket") env.SLACK_APP_TOKEN = "xapp-test-token";
  const options = resolveSlackOptions({ http: { host: "127.0.0.1", port: 0 }, updateIntervalMs: 50, ...o.slack }, env);
  const logs: LogLine[] = [];
  const logged = new EventEmitter();
  const at = (level: string) => (obj: object, msg?: string) => {
    logs.push({ level, msg: msg ?? "", obj: obj as Record<string, unknown> });
    logged.emit("line");
  };
  const logger: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  const newAdapter = () => createSlackAdapter({ options, service: manager, logger, storage: { dataDir }, stopGraceMs: 5_000 });
  const adapter = newAdapter();
  await adapter.start();

  const h: Harness = {
    fake,
    adapter,
    manager,
    store,
    options,
    dataDir,
    logs,
    waitForLog(msg, count = 1) {
      const has = () => logs.filter((l) => l.msg === msg).length >= count;
      if (has()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          logged.off("line", check);
          reject(new Error(`timed out waiting for log "${msg}" ×${count}`));
        }, 20_000);
        const check = () => {
          if (!has()) return;
          clearTimeout(timer);
          logged.off("line", check);
          resolve();
        };
        logged.on("line", check);
      });
    },
    async sendEvent(event, send = {}) {
      const eventId = send.eventId ?? `EvH${++eventSeq}`;
      const body = JSON.stringify(eventCallback(event, { eventId }));
      const result = await sendSigned(h.adapter.eventsUrl!, body, { secret: SIGNING_SECRET, ...send });
      return { ...result, eventId };
    },
    async history(key, turns) {
      for (let i = 0; i < 2000; i++) {
        const history = await manager.history(key);
        if (history.length >= turns) return history;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`timed out waiting for ${turns} stored turns in ${key}`);
    },
    async waitForReply(channel, threadTs, predicate = () => true) {
      const done = () => {
        const messages = fake.thread(channel, threadTs);
        return messages.length > 0 && messages.every((m) => !hasStop(m)) && predicate(messages);
      };
      await fake.waitFor(done, `a final reply in ${channel}/${threadTs ?? "top"}`);
      return fake.thread(channel, threadTs);
    },
    async restart() {
      await h.adapter.stop();
      h.adapter = newAdapter();
      await h.adapter.start();
    },
    async close() {
      await Promise.all([manager.shutdown({ graceMs: 0 }), h.adapter.stop()]);
      await store.close();
      await fake.close();
      if (!o.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return h;
}

/** Whether a message still shows the Stop button. */
export function hasStop(message: FakeMessage): boolean {
  return (message.blocks ?? []).some((b: { type?: string }) => b.type === "actions");
}

/** The visible text of a message (its section blocks, else `text`). */
export function shownText(message: FakeMessage): string {
  const sections = (message.blocks ?? []).filter((b: { type?: string }) => b.type === "section");
  return sections.length > 0 ? sections.map((b: { text: { text: string } }) => b.text.text).join("\n") : message.text;
}
