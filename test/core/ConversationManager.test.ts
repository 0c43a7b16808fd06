import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import { createConversationStore } from "../../src/core/memory.js";
import type { JobHandle, ReplyOutcome } from "../../src/core/ports.js";
import { fakeCount } from "./FakeEngine.js";
import { FakeSink } from "./FakeSink.js";
import { ALICE, BOB, DAY, direct, message, setup, shared, SYSTEM } from "./managerHarness.js";

const outcomeOf = async (handle: JobHandle): Promise<ReplyOutcome> => {
  const result = await handle.done;
  assert.ok(!("error" in result), `expected an outcome, got ${"error" in result ? result.error.code : ""}`);
  return result;
};

describe("ConversationManager: one exchange", () => {
  it("streams the reply, then stores user + assistant with tokens, ids, time and delivery", async () => {
    const h = await setup();
    try {
      const sink = new FakeSink({ receipt: { platformMessageIds: ["r-1", "r-2"] } });
      const handle = await h.manager.submit(message(direct(), ALICE, "hello there", { platformMessageIds: ["u-1"] }), sink);
      const outcome = await outcomeOf(handle);
      assert.equal(sink.text, "Reply to hello there");
      assert.deepEqual(sink.log, ["started", "end stop"]);
      const prompt = [{ role: "system", content: SYSTEM }, { role: "user", content: "hello there" }] as const;
      assert.deepEqual(h.engine.calls[0].turns, prompt);
      assert.equal(h.engine.calls[0].options.conversationKey, direct().key);
      assert.equal(h.engine.calls[0].options.maxTokens, 64);
      assert.equal(h.engine.calls[0].options.temperature, 0);
      assert.deepEqual(outcome, {
        jobId: handle.id,
        reply: "Reply to hello there",
        finishReason: "stop",
        usage: { promptTokens: fakeCount(prompt), completionTokens: 4 },
        context: { window: 2048 - 64, used: fakeCount(prompt), droppedTurns: 0 },
      });
      const turns = await h.manager.history(direct().key);
      assert.deepEqual(turns, [
        { role: "user", authorId: ALICE.id, authorName: "Alice", text: "hello there", tokens: 4, at: h.clock.now(), platformMessageIds: ["u-1"], delivery: "delivered" },
        { role: "assistant", authorId: "glmbot", authorName: "fake-glm", text: "Reply to hello there", tokens: 6, at: h.clock.now(), platformMessageIds: ["r-1", "r-2"], delivery: "delivered" },
      ]);
    } finally {
      await h.close();
    }
  });

  it("puts display names into shared-channel user turns (not in DMs) and includes earlier exchanges", async () => {
    const h = await setup();
    try {
      await (await h.manager.submit(message(shared(), ALICE, "hi"), new FakeSink())).done;
      await (await h.manager.submit(message(shared(), { id: "U-x", displayName: " Bob\n  the\tBuilder " }, "and me?"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[1].turns, [
        { role: "system", content: SYSTEM },
        { role: "user", content: "Alice: hi" },
        { role: "assistant", content: "Reply to Alice: hi" },
        { role: "user", content: "Bob the Builder: and me?" },
      ]);
      await (await h.manager.submit(message(direct("slack:T1:D9"), ALICE, "just us"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[2].turns.at(-1), { role: "user", content: "just us" });
      assert.equal((await h.manager.history(shared().key))[0].text, "hi", "the raw text is stored; the name is added when rendering");
    } finally {
      await h.close();
    }
  });

  it("applies per-request overrides (system, maxTokens, temperature) to that request only", async () => {
    const h = await setup();
    try {
      const sink = new FakeSink();
      await (await h.manager.submit(message(direct(), ALICE, "q", { overrides: { system: "Only JSON.", maxTokens: 100, temperature: 0.7 } }), sink)).done;
      assert.deepEqual(h.engine.calls[0].turns[0], { role: "system", content: "Only JSON." });
      assert.equal(h.engine.calls[0].options.maxTokens, 100);
      assert.equal(h.engine.calls[0].options.temperature, 0.7);
      assert.equal(sink.outcome?.context.window, 2048 - 100);
      await (await h.manager.submit(message(direct(), ALICE, "q2"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[1].turns[0], { role: "system", content: SYSTEM });
      await assert.rejects(h.manager.submit(message(direct(), ALICE, "q", { overrides: { maxTokens: 2048 } }), new FakeSink()), (e) => isGlmbotError(e, "invalid_request"));
    } finally {
      await h.close();
    }
  });
});

describe("ConversationManager: what is not stored", () => {
  it("refuses a message that cannot fit even alone with input_too_long {tokens, limit}, at once", async () => {
    const h = await setup();
    try {
      const text = "word ".repeat(2000);
      const tokens = fakeCount([{ role: "system", content: SYSTEM }, { role: "user", content: text }]);
      await assert.rejects(h.manager.submit(message(direct(), ALICE, text), new FakeSink()), (e) => {
        assert.ok(isGlmbotError(e, "input_too_long"));
        assert.deepEqual(e.details, { tokens, limit: 2048 - 64 });
        assert.equal(e.httpStatus, 422);
        assert.match(e.message, /1984/);
        return true;
      });
      assert.equal(h.engine.calls.length, 0);
      assert.deepEqual(await h.manager.history(direct().key), []);
      assert.deepEqual(h.events.filter((e) => e.name === "refusal").map((e) => e.data.code), ["input_too_long"]);
    } finally {
      await h.close();
    }
  });

  it("a failed generation is not stored and the user is told; the next prompt does not contain it", async () => {
    const h = await setup({ engine: { replies: [{ fail: "boom", partial: "half an" }] } });
    try {
      const sink = new FakeSink();
      const result = await (await h.manager.submit(message(direct(), ALICE, "first"), sink)).done;
      assert.ok("error" in result && result.error.code === "generation_failed");
      assert.deepEqual(sink.log, ["started", "fail generation_failed"]);
      assert.deepEqual(await h.manager.history(direct().key), []);
      await (await h.manager.submit(message(direct(), ALICE, "second"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[1].turns.map((t) => t.content), [SYSTEM, "second"]);
    } finally {
      await h.close();
    }
  });

  it("an empty reply is a failure, not a stored turn", async () => {
    const h = await setup({ engine: { replies: [""] } });
    try {
      const sink = new FakeSink();
      await (await h.manager.submit(message(direct(), ALICE, "hm"), sink)).done;
      assert.equal(sink.error?.code, "generation_failed");
      assert.equal(sink.error?.details.reason, "empty_reply");
      assert.deepEqual(await h.manager.history(direct().key), []);
    } finally {
      await h.close();
    }
  });

  it("cancel before any text: fail(cancelled), nothing stored; after some text: end(cancelled), stored as partial", async () => {
    const h = await setup({ engine: { replies: [{ manual: true }, { manual: true }] } });
    try {
      const first = new FakeSink();
      const handle1 = await h.manager.submit(message(direct(), ALICE, "one"), first);
      await h.engine.waitForCalls(1);
      handle1.cancel();
      await handle1.done;
      assert.deepEqual(first.log, ["started", "fail cancelled"]);
      assert.deepEqual(await h.manager.history(direct().key), []);

      const second = new FakeSink();
      const handle2 = await h.manager.submit(message(direct(), ALICE, "two"), second);
      const call = await h.engine.waitForCalls(2);
      call.emit("Partial");
      call.emit(" answer");
      handle2.cancel();
      const outcome = await outcomeOf(handle2);
      assert.equal(outcome.finishReason, "cancelled");
      assert.equal(outcome.reply, "Partial answer");
      const turns = await h.manager.history(direct().key);
      assert.deepEqual(turns.map((t) => [t.text, t.delivery]), [["two", "delivered"], ["Partial answer", "partial"]]);
    } finally {
      await h.close();
    }
  });

  it("a reply that could not be delivered is not stored; done says delivery_failed", async () => {
    const h = await setup();
    try {
      const sink = new FakeSink({ endThrows: true });
      const result = await (await h.manager.submit(message(direct(), ALICE, "hello"), sink)).done;
      assert.ok("error" in result && result.error.code === "delivery_failed");
      assert.deepEqual(await h.manager.history(direct().key), []);
      assert.ok(h.events.some((e) => e.name === "job_failed" && e.data.code === "delivery_failed"));
    } finally {
      await h.close();
    }
  });

  it("a reply still running when the conversation is reset is not stored into the fresh conversation", async () => {
    const h = await setup({ engine: { replies: ["old answer", { manual: true }] } });
    try {
      await (await h.manager.submit(message(direct(), ALICE, "old"), new FakeSink())).done;
      const handle = await h.manager.submit(message(direct(), ALICE, "before reset"), new FakeSink());
      const call = await h.engine.waitForCalls(2);
      assert.equal(await h.manager.command(direct(), { name: "reset" }), "Done: this conversation is forgotten. The next message starts fresh.");
      call.emit("late reply");
      call.finish();
      await outcomeOf(handle);
      assert.deepEqual(await h.manager.history(direct().key), []);
      await (await h.manager.submit(message(direct(), ALICE, "after"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[2].turns.map((t) => t.content), [SYSTEM, "after"]);
      assert.equal((await h.manager.history(direct().key)).length, 2);
    } finally {
      await h.close();
    }
  });
});

describe("ConversationManager: commands", () => {
  it("system <text>, system reset, status, help and reset", async () => {
    const h = await setup();
    const conv = shared("slack:T1:C7");
    try {
      assert.match(await h.manager.command(conv, { name: "help" }), /reset[\s\S]*system <text>[\s\S]*system reset[\s\S]*status[\s\S]*help/);
      assert.match(await h.manager.command(conv, { name: "system", text: "Answer like a pirate." }), /System prompt set/);
      await (await h.manager.submit(message(conv, ALICE, "hi"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[0].turns[0], { role: "system", content: "Answer like a pirate." });

      const status = await h.manager.command(conv, { name: "status" });
      const used = fakeCount([{ role: "system", content: "Answer like a pirate." }, { role: "user", content: "Alice: hi" }, { role: "assistant", content: "Reply to Alice: hi" }]);
      assert.match(status, /Model: fake-glm/);
      assert.match(status, new RegExp(`Context: ${used}/1984 tokens`));
      assert.match(status, /Stored turns: 2/);
      assert.match(status, /System prompt: custom/);
      assert.match(status, /Queue: 0 running, 0 waiting/);

      assert.equal(await h.manager.command(conv, { name: "system_reset" }), "System prompt reset to the default.");
      assert.equal((await h.manager.history(conv.key)).length, 2, "system reset keeps the turns");
      await (await h.manager.submit(message(conv, ALICE, "again"), new FakeSink())).done;
      assert.deepEqual(h.engine.calls[1].turns[0], { role: "system", content: SYSTEM });

      assert.match(await h.manager.command(conv, { name: "system", text: "x ".repeat(3000) }), /too long: \d+ tokens, the limit is 1984/);
      assert.match(await h.manager.command(conv, { name: "system", text: "  " }), /Usage/);

      await h.manager.command(conv, { name: "reset" });
      assert.deepEqual(await h.manager.history(conv.key), []);
      assert.match(await h.manager.command(conv, { name: "status" }), /Stored turns: 0[\s\S]*System prompt: default/);
    } finally {
      await h.close();
    }
  });

  it("status shows this conversation's place in the queue", async () => {
    const h = await setup({ engine: { replies: [{ manual: true }] } });
    try {
      await h.manager.submit(message(shared("A"), ALICE, "a"), new FakeSink());
      await h.engine.waitForCalls(1);
      await h.manager.submit(message(shared("B"), BOB, "b"), new FakeSink());
      assert.match(await h.manager.command(shared("B"), { name: "status" }), /Queue: 1 running, 1 waiting; this conversation is #1/);
      assert.match(await h.manager.command(shared("A"), { name: "status" }), /a reply here is in progress/);
    } finally {
      await h.close();
    }
  });
});

describe("ConversationManager: memory across restarts", () => {
  it("a delivered exchange survives a restart of the store and the manager", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "glmbot-restart-"));
    try {
      const open = () => createConversationStore({ dataDir, maxTurns: 50, idleTtlMs: DAY });
      const store1 = await open();
      const first = await setup({ store: store1 });
      await (await first.manager.submit(message(shared(), ALICE, "remember the number 42"), new FakeSink())).done;
      await first.close();
      await store1.close();

      const store2 = await open();
      const second = await setup({ store: store2 });
      assert.equal((await second.manager.history(shared().key)).length, 2);
      await (await second.manager.submit(message(shared(), ALICE, "what was the number?"), new FakeSink())).done;
      assert.deepEqual(second.engine.calls[0].turns.map((t) => t.content), [SYSTEM, "Alice: remember the number 42", "Reply to Alice: remember the number 42", "Alice: what was the number?"]);
      await second.close();
      await store2.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("ConversationManager: metrics", () => {
  it("emits queue wait, first token, tokens/s, prompt and completion tokens, dropped turns", async () => {
    const h = await setup({ engine: { replies: [{ manual: true }, { manual: true }] } });
    try {
      const first = await h.manager.submit(message(direct("k1"), ALICE, "one"), new FakeSink());
      const second = await h.manager.submit(message(direct("k2"), BOB, "two"), new FakeSink());
      const call1 = await h.engine.waitForCalls(1);
      h.clock.advance(200);
      call1.emit("a");
      h.clock.advance(1000);
      call1.emit(" b c d e");
      call1.finish();
      await first.done;
      const call2 = await h.engine.waitForCalls(2);
      call2.emit("x");
      call2.finish();
      await second.done;
      const of = (name: string) => h.events.filter((e) => e.name === name).map((e) => e.data);
      assert.deepEqual(of("queue_wait"), [{ key: "k1", ms: 0 }, { key: "k2", ms: 1200 }]);
      assert.deepEqual(of("first_token"), [{ key: "k1", ms: 200 }, { key: "k2", ms: 0 }]);
      assert.deepEqual(of("tokens_per_second"), [{ key: "k1", value: 4 }]);
      assert.deepEqual(of("completion_tokens"), [{ key: "k1", tokens: 5 }, { key: "k2", tokens: 1 }]);
      assert.deepEqual(of("prompt_tokens")[0], { key: "k1", tokens: call1.promptTokens, evaluated: call1.promptTokens });
      assert.deepEqual(of("dropped_turns")[0], { key: "k1", turns: 0, exchanges: 0 });
      assert.deepEqual(of("job_done").map((d) => d.finishReason), ["stop", "stop"]);
    } finally {
      await h.close();
    }
  });
});
