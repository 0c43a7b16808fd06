/** Unit tests of the Discord reply sink over a recording ChannelTarget and a manual clock. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EMPTY_REPLY_TEXT, THINKING_TEXT } from "../../../src/adapters/common/notices.js";
import { DiscordReplySink, type ChannelTarget, type OutgoingMessage } from "../../../src/adapters/discord/DiscordReplySink.js";
import { GlmbotError } from "../../../src/core/errors.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { ReplyOutcome } from "../../../src/core/ports.js";
import { FakeClock, flush } from "../../fixtures/FakeClock.js";

type Call = { op: "typing" | "send" | "edit" | "delete"; at: number; id?: string; message?: OutgoingMessage };

class RateLimited extends Error {
  constructor(readonly ms: number) {
    super("429");
  }
}

function setup(fail?: (call: Call) => Error | undefined) {
  const clock = new FakeClock(0);
  const calls: Call[] = [];
  const live = new Map<string, OutgoingMessage>();
  let next = 100;
  const record = async (call: Call) => {
    await flush();
    calls.push(call);
    const error = fail?.(call);
    if (error) throw error;
  };
  const target: ChannelTarget = {
    sendTyping: () => record({ op: "typing", at: clock.now() }),
    send: async (message) => {
      const id = String(next++);
      await record({ op: "send", at: clock.now(), id, message });
      live.set(id, message);
      return id;
    },
    edit: async (id, message) => {
      await record({ op: "edit", at: clock.now(), id, message });
      live.set(id, message);
    },
    delete: async (id) => {
      await record({ op: "delete", at: clock.now(), id });
      live.delete(id);
    },
  };
  const sink = new DiscordReplySink({
    target,
    replyTo: "42",
    stopId: "glmbot:stop:42",
    editIntervalMs: 1000,
    logger: silentLogger,
    clock,
    retryAfterMs: (e) => (e instanceof RateLimited ? e.ms : undefined),
  });
  const shown = () => [...live.values()].map((m) => m.content);
  return { clock, calls, sink, live, shown };
}

const outcome = (reply: string, finishReason: ReplyOutcome["finishReason"] = "stop"): ReplyOutcome => ({
  jobId: "job",
  reply,
  finishReason,
  usage: { promptTokens: 1, completionTokens: 1 },
  context: { window: 100, used: 1, droppedTurns: 0 },
});

describe("DiscordReplySink", () => {
  test("typing at once, renewed every 8 s while waiting, not after the reply appears", async () => {
    const { clock, calls, sink } = setup();
    sink.open();
    await clock.advanceAsync(16_000);
    assert.deepEqual(calls.filter((c) => c.op === "typing").map((c) => c.at), [0, 8000, 16000]);
    sink.started();
    sink.write("Hello");
    await clock.advanceAsync(30_000);
    assert.equal(calls.filter((c) => c.op === "typing").length, 3);
    await sink.end(outcome("Hello"));
    assert.equal(clock.pending, 0, "no timers left");
  });

  test("queue position message, updated, then turned into the streamed reply; button only while live", async () => {
    const { clock, calls, sink, live } = setup();
    sink.queued(3);
    await clock.advanceAsync(0);
    sink.queued(2);
    await clock.advanceAsync(1000);
    sink.started();
    await clock.advanceAsync(1000);
    sink.write("Hi");
    sink.write(" there");
    await clock.advanceAsync(1000);
    const receipt = await Promise.all([sink.end(outcome("Hi there")), clock.advanceAsync(1000)]).then(([r]) => r);
    const ops = calls.filter((c) => c.op !== "typing").map((c) => [c.op, c.message?.content, c.message?.stopButton ?? null, c.message?.replyTo ?? null]);
    assert.deepEqual(ops, [
      ["send", "⏳ #3 in queue", "glmbot:stop:42", "42"],
      ["edit", "⏳ #2 in queue", "glmbot:stop:42", null],
      ["edit", THINKING_TEXT, "glmbot:stop:42", null],
      ["edit", "Hi there", "glmbot:stop:42", null],
      ["edit", "Hi there", null, null],
    ]);
    assert.deepEqual(receipt, { platformMessageIds: ["100"] });
    assert.equal(live.size, 1);
  });

  test("edits are paced: at least the interval apart", async () => {
    const { clock, calls, sink } = setup();
    for (let i = 0; i < 50; i++) {
      sink.write(`w${i} `);
      await clock.advanceAsync(130);
    }
    const ending = sink.end(outcome(Array.from({ length: 50 }, (_, i) => `w${i} `).join("")));
    await clock.advanceAsync(2000);
    await ending;
    const times = calls.filter((c) => c.op === "send" || c.op === "edit").map((c) => c.at);
    assert.ok(times.length >= 5);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 1000, `gap ${times[i] - times[i - 1]}`);
  });

  test("a long reply continues in follow-up messages of at most 2000 that join back exactly", async () => {
    const { clock, calls, sink, shown, live } = setup();
    const text = Array.from({ length: 1000 }, (_, i) => `word${i}`).join(" ").slice(0, 4500);
    for (let i = 0; i < text.length; i += 100) {
      sink.write(text.slice(i, i + 100));
      await clock.advanceAsync(400);
      for (const c of calls.filter((c) => c.op !== "typing")) assert.ok(c.message === undefined || c.message.content.length <= 2000);
    }
    const ending = sink.end(outcome(text));
    await clock.advanceAsync(2000);
    const { platformMessageIds } = await ending;
    assert.equal(platformMessageIds?.length, 3);
    assert.equal(shown().join(""), text);
    assert.ok(shown().every((part) => part.length <= 2000));
    const buttons = calls.filter((c) => c.message?.stopButton);
    assert.ok(buttons.length > 0);
    assert.ok([...live.values()].every((m) => m.stopButton === undefined), "final messages have no button");
    assert.equal(calls.filter((c) => c.op === "send" && c.message?.replyTo).length, 1, "only the first part replies to the asker");
  });

  test("an empty or whitespace-only reply gets the fallback notice", async () => {
    const { clock, sink, shown } = setup();
    sink.write("  \n ");
    const ending = sink.end(outcome("  \n "));
    await clock.advanceAsync(0);
    await ending;
    assert.deepEqual(shown(), [EMPTY_REPLY_TEXT]);
  });

  test("stopped with partial text: the text stays, marked as stopped", async () => {
    const { clock, sink, shown } = setup();
    sink.write("Partial");
    await clock.advanceAsync(0);
    const ending = sink.end(outcome("Partial", "cancelled"));
    await clock.advanceAsync(1000);
    await ending;
    assert.deepEqual(shown(), ["Partial\n\n⏹️ (stopped)"]);
  });

  test("fail: a notice replying to the asker, or after the partial text", async () => {
    const a = setup();
    const failing = a.sink.fail(new GlmbotError("generation_timeout", "x"));
    await a.clock.advanceAsync(0);
    await failing;
    assert.match(a.shown()[0], /took too long/);
    assert.equal(a.calls.find((c) => c.op === "send")?.message?.replyTo, "42");

    const b = setup();
    b.sink.write("Half an answer");
    await b.clock.advanceAsync(0);
    const failing2 = b.sink.fail(new GlmbotError("shutting_down", "x"));
    await b.clock.advanceAsync(1000);
    await failing2;
    assert.match(b.shown()[0], /^Half an answer\n\n🔄 /u);
  });

  test("discarded (the asker deleted the message): the queue message is deleted", async () => {
    const { clock, calls, sink, live } = setup();
    sink.queued(1);
    await clock.advanceAsync(0);
    sink.discard();
    const failing = sink.fail(new GlmbotError("cancelled", "x"));
    await clock.advanceAsync(1000);
    await failing;
    assert.equal(live.size, 0);
    assert.equal(calls.at(-1)?.op, "delete");
  });

  test("a 429 on an edit is waited out; the final text still arrives", async () => {
    let limited = false;
    const { clock, calls, sink, shown } = setup((c) => (c.op === "edit" && !limited ? ((limited = true), new RateLimited(5000)) : undefined));
    sink.write("a");
    await clock.advanceAsync(1000);
    sink.write("b");
    await clock.advanceAsync(1000);
    const ending = sink.end(outcome("abc"));
    await clock.advanceAsync(10_000);
    await ending;
    const edits = calls.filter((c) => c.op === "edit").map((c) => c.at);
    assert.equal(edits.length, 2);
    assert.ok(edits[1] - edits[0] >= 5000, "waited retry_after");
    assert.deepEqual(shown(), ["abc"]);
  });

  test("a failed send rejects end after telling the user", async () => {
    const { clock, calls, sink } = setup((c) => (c.op === "send" && !c.message?.content.startsWith("⚠️") ? new Error("403 Missing Permissions") : undefined));
    sink.write("Hello");
    await clock.advanceAsync(1000);
    const ending = sink.end(outcome("Hello"));
    const settled = ending.then(() => "resolved", (e: Error) => e.message);
    await clock.advanceAsync(2000);
    assert.equal(await settled, "403 Missing Permissions");
    const notice = calls.filter((c) => c.op === "send").at(-1);
    assert.match(notice?.message?.content ?? "", /could not be delivered/);
    assert.equal(notice?.message?.replyTo, "42");
  });
});
