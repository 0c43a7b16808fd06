/**
 * `Inbound` on its own, with stub Slack deps (no Bolt, no HTTP, no model): arrival order into core, the slash
 * command's conversation keys, and the shared error texts. Slowness is a promise the test resolves, never a timer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Inbound, type InboundDeps } from "../../../src/adapters/slack/inbound.js";
import { resolveSlackOptions } from "../../../src/adapters/slack/config.js";
import type { SlackStore } from "../../../src/adapters/slack/dedupe.js";
import type { SlackApi } from "../../../src/adapters/slack/SlackApi.js";
import { StatusIndicator } from "../../../src/adapters/slack/status.js";
import { channelConversation, dmConversation } from "../../../src/adapters/slack/triggers.js";
import { UserDirectory } from "../../../src/adapters/slack/users.js";
import { errorText } from "../../../src/adapters/common/notices.js";
import { GlmbotError } from "../../../src/core/errors.js";
import type { Logger } from "../../../src/core/logger.js";
import type { Command, ConversationRef, ConversationService, InboundMessage, JobHandle } from "../../../src/core/ports.js";
import { FakeClock } from "../../fixtures/FakeClock.js";

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets every pending promise chain run (no timers involved). */
async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

class StubService implements ConversationService {
  readonly submitted: InboundMessage[] = [];
  readonly commands: Array<{ conversation: ConversationRef; command: Command }> = [];
  commandError?: unknown;

  async submit(message: InboundMessage): Promise<JobHandle> {
    this.submitted.push(message);
    const id = `job-${this.submitted.length}`;
    return { id, position: () => 0, cancel: () => {}, done: Promise.resolve({ error: new GlmbotError("cancelled", "stub") }) };
  }

  async command(conversation: ConversationRef, command: Command): Promise<string> {
    this.commands.push({ conversation, command });
    if (this.commandError !== undefined) throw this.commandError;
    return `ok: ${command.name}`;
  }

  async history(): Promise<never[]> {
    return [];
  }

  async reset(): Promise<void> {}
}

/** users.info answers are promises the test controls (per user id); posts are recorded. */
function setup() {
  const lookups = new Map<string, Deferred<{ user: { name: string } }>>();
  const posts: Array<{ channel: string; thread_ts?: string; text: string }> = [];
  const api = {
    call: <T>(fn: () => Promise<T>) => fn(),
    withLogger: () => api,
    post: async (args: { channel: string; thread_ts?: string; text: string }) => {
      posts.push(args);
      return `9${posts.length}.0`;
    },
    web: {
      users: {
        info: ({ user }: { user: string }) => {
          let d = lookups.get(user);
          if (!d) lookups.set(user, (d = deferred()));
          return d.promise;
        },
      },
      assistant: { threads: { setStatus: async () => ({ ok: true }) } },
    },
  } as unknown as SlackApi;
  const claimed = new Set<string>();
  const store: SlackStore = {
    claim: async (keys) => {
      if (keys.some((k) => claimed.has(k))) return false;
      for (const k of keys) claimed.add(k);
      return true;
    },
    followThread: async () => {},
    isFollowed: async () => true,
    close: async () => {},
  };
  const clock = new FakeClock();
  const service = new StubService();
  const users = new UserDirectory(api, clock, quiet, 3_600_000);
  const deps: InboundDeps = {
    options: resolveSlackOptions({ streaming: "update" }, {}),
    service,
    api,
    store,
    users,
    status: new StatusIndicator(api, quiet, false),
    policy: { botUserId: "UBOT", allowedChannels: [], allowedUsers: [], dmPolicy: "open", threadFollowUps: true },
    clock,
    log: quiet,
  };
  const answer = (user: string, name: string) => {
    let d = lookups.get(user);
    if (!d) lookups.set(user, (d = deferred()));
    d.resolve({ user: { name } });
  };
  return { inbound: new Inbound(deps), service, users, posts, answer };
}

const mention = (user: string, ts: string, text: string, threadTs = "100.0001") => ({
  type: "app_mention",
  channel: "C1",
  user,
  text: `<@UBOT> ${text}`,
  ts,
  thread_ts: threadTs,
});

test("two messages of one thread reach core in arrival order even when the first one's users.info is slower", async () => {
  const { inbound, service, users, answer } = setup();
  answer("UBOB", "bob");
  assert.equal(await users.name("UBOB"), "bob"); // Bob's name is cached; Alice's lookup will hang until answered

  const first = inbound.onMessage(mention("UALICE", "100.0002", "first"), { team_id: "T1", event_id: "Ev1" });
  const second = inbound.onMessage(mention("UBOB", "100.0003", "second"), { team_id: "T1", event_id: "Ev2" });
  // A message of another thread does not wait for this one.
  const other = inbound.onMessage(mention("UBOB", "200.0002", "elsewhere", "200.0001"), { team_id: "T1", event_id: "Ev3" });
  await other;
  await settle();
  assert.deepEqual(service.submitted.map((m) => m.text), ["elsewhere"], "the second message waits for the first one of its thread");

  answer("UALICE", "alice");
  await Promise.all([first, second]);
  assert.deepEqual(service.submitted.map((m) => m.text), ["elsewhere", "first", "second"]);
  assert.deepEqual(service.submitted.slice(1).map((m) => [m.author.displayName, m.conversation.key]), [
    ["alice", "slack:T1:C1:100.0001"],
    ["bob", "slack:T1:C1:100.0001"],
  ]);
});

test("the mention's message-event twin waits its turn and is claimed as a duplicate", async () => {
  const { inbound, service, answer } = setup();
  const mentionEvent = mention("UALICE", "100.0002", "hello");
  const first = inbound.onMessage(mentionEvent, { team_id: "T1", event_id: "Ev1" });
  const twin = inbound.onMessage({ ...mentionEvent, type: "message", channel_type: "channel" }, { team_id: "T1", event_id: "Ev2" });
  answer("UALICE", "alice");
  await Promise.all([first, twin]);
  assert.deepEqual(service.submitted.map((m) => m.text), ["hello"]);
});

test("slash command: a DM uses the DM's conversation key; in a channel, status/reset/system point to the thread form", async () => {
  const { inbound, service, answer } = setup();
  answer("UALICE", "alice");
  const replies: string[] = [];
  const respond = async (m: { text: string }) => void replies.push(m.text);
  const slash = (text: string, channel: string) => inbound.onSlashCommand({ text, user_id: "UALICE", channel_id: channel, team_id: "T1" }, respond);

  await slash("status", "D1");
  assert.deepEqual(service.commands.map((c) => c.conversation), [dmConversation("T1", "D1")]);
  assert.deepEqual(dmConversation("T1", "D1"), { key: "slack:T1:D1", kind: "direct" });
  assert.equal(replies.at(-1), "ok: status");

  for (const text of ["status", "reset", "system be brief", "system reset"]) {
    await slash(text, "C1");
    assert.match(replies.at(-1)!, /mention me in the thread/, text);
  }
  assert.equal(service.commands.length, 1, "no channel-level conversation is queried or changed");

  await slash("help", "C1");
  assert.equal(replies.at(-1), "ok: help");
  assert.equal(service.commands.at(-1)!.command.name, "help");
});

test("command failures use the shared errorText: slash command and `@bot <command>`", async () => {
  const { inbound, service, posts, answer } = setup();
  answer("UALICE", "alice");
  const replies: string[] = [];
  const respond = async (m: { text: string }) => void replies.push(m.text);

  service.commandError = new Error("store exploded");
  await inbound.onSlashCommand({ text: "reset", user_id: "UALICE", channel_id: "D1", team_id: "T1" }, respond);
  const internal = errorText(new GlmbotError("internal_error", "Something went wrong. Please try again."));
  assert.equal(replies.at(-1), internal);
  assert.ok(!replies.at(-1)!.includes("store exploded"), "the cause is not shown");

  service.commandError = new GlmbotError("shutting_down", "stopping");
  await inbound.onMessage(mention("UALICE", "100.0002", "status"), { team_id: "T1", event_id: "Ev1" });
  assert.equal(posts.at(-1)!.text, errorText(new GlmbotError("shutting_down", "stopping")));
  assert.equal(posts.at(-1)!.thread_ts, "100.0001");
  assert.deepEqual(service.commands.at(-1)!.conversation, channelConversation("T1", "C1", "100.0001"));
});
