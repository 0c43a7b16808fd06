import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import type { ChatTurn, ConversationRef, JobHandle } from "../../src/core/ports.js";
import { fakeCount } from "./FakeEngine.js";
import { FakeSink } from "./FakeSink.js";
import { ALICE, BOB, direct, message, setup, settle, shared, SYSTEM } from "./managerHarness.js";
import { chineseText, prng } from "../fixtures/prng.js";

const user = (n: number) => ({ id: `U${n}`, displayName: `User ${n}` });

describe("ConversationManager: queue", () => {
  it("two people asking at once in one channel each get their own answer, in order", async () => {
    const h = await setup({ engine: { replies: [{ manual: true }, { manual: true }] } });
    try {
      const aliceSink = new FakeSink();
      const bobSink = new FakeSink();
      const [alice, bob] = await Promise.all([
        h.manager.submit(message(shared(), ALICE, "what is 2+2?"), aliceSink),
        h.manager.submit(message(shared(), BOB, "capital of France?"), bobSink),
      ]);
      const first = await h.engine.waitForCalls(1);
      await settle();
      assert.equal(h.engine.calls.length, 1, "one job per conversation at a time");
      assert.deepEqual(bobSink.positions, [1]);
      assert.equal(bob.position(), 1);
      assert.equal(first.turns.at(-1)?.content, "Alice: what is 2+2?");
      first.emit("4");
      first.finish();
      await alice.done;
      const second = await h.engine.waitForCalls(2);
      assert.deepEqual(second.turns.slice(1).map((t) => t.content), ["Alice: what is 2+2?", "4", "Bob: capital of France?"]);
      second.emit("Paris");
      second.finish();
      await bob.done;
      assert.equal(aliceSink.text, "4");
      assert.equal(bobSink.text, "Paris");
      assert.deepEqual(bobSink.log, ["queued 1", "started", "end stop"]);
      assert.deepEqual((await h.manager.history(shared().key)).map((t) => t.text), ["what is 2+2?", "4", "capital of France?", "Paris"]);
    } finally {
      await h.close();
    }
  });

  it("keeps arrival order within a conversation even when admission work finishes out of order", async () => {
    const h = await setup({ engine: { respond: () => ({ manual: true }) } });
    try {
      // A long message takes more tokenizer work; it was sent first and must still run first.
      const handles = await Promise.all(["long ".repeat(500), "short"].map((text, i) => h.manager.submit(message(shared(), user(i), text), new FakeSink())));
      const first = await h.engine.waitForCalls(1);
      assert.match(first.turns.at(-1)!.content, /^User 0: long/);
      first.finish();
      await handles[0].done;
      (await h.engine.waitForCalls(2)).finish();
      await handles[1].done;
    } finally {
      await h.close();
    }
  });

  it("a burst of ten in channel A does not make channel B's single message wait behind all ten", async () => {
    const h = await setup({ engine: { replies: [{ manual: true }] } });
    try {
      const handles: JobHandle[] = [];
      for (let i = 0; i < 10; i++) handles.push(await h.manager.submit(message(shared("A"), user(i), `a${i}`), new FakeSink()));
      const bSink = new FakeSink();
      handles.push(await h.manager.submit(message(shared("B"), BOB, "b"), bSink));
      assert.deepEqual(bSink.positions, [1], "B is next although A has nine waiting");
      (await h.engine.waitForCalls(1)).finish();
      await Promise.all(handles.map((handle) => handle.done));
      const order = h.engine.calls.map((c) => c.options.conversationKey);
      assert.deepEqual(order, ["A", "B", "A", "A", "A", "A", "A", "A", "A", "A", "A"]);
      assert.equal(h.engine.calls.length, 11);
      assert.deepEqual(h.engine.violations, []);
    } finally {
      await h.close();
    }
  });

  it("runs as many jobs at once as the engine has sequences, never more", async () => {
    const h = await setup({ engine: { sequences: 3, respond: () => ({ manual: true }) } });
    try {
      const handles = await Promise.all([0, 1, 2, 3, 4].map((i) => h.manager.submit(message(shared(`K${i}`), user(i), "hi"), new FakeSink())));
      await h.engine.waitForCalls(3);
      await settle();
      assert.equal(h.engine.active, 3);
      for (let i = 0; i < 5; i++) (await h.engine.waitForCalls(i + 1)).finish();
      await Promise.all(handles.map((handle) => handle.done));
      assert.equal(h.engine.maxActive, 3);
      assert.deepEqual(h.engine.violations, []);
    } finally {
      await h.close();
    }
  });

  it("refuses over the bounds at once with queue_full and retryAfterSeconds (never waits)", async () => {
    const h = await setup({ engine: { respond: () => ({ hang: true }) }, manager: { queue: { maxPending: 3, maxPendingPerUser: 2 } } });
    try {
      await h.manager.submit(message(shared("A"), ALICE, "1"), new FakeSink());
      await h.manager.submit(message(shared("B"), ALICE, "2"), new FakeSink());
      await assert.rejects(h.manager.submit(message(shared("C"), ALICE, "3"), new FakeSink()), (e) => {
        assert.ok(isGlmbotError(e, "queue_full"));
        assert.equal(e.httpStatus, 429);
        assert.ok(Number.isInteger(e.details.retryAfterSeconds) && (e.details.retryAfterSeconds as number) >= 1);
        return true;
      });
      await h.manager.submit(message(shared("C"), BOB, "4"), new FakeSink());
      const counted = h.engine.countCalls;
      await assert.rejects(h.manager.submit(message(shared("D"), user(9), "5"), new FakeSink()), (e) => isGlmbotError(e, "queue_full"));
      assert.equal(h.engine.countCalls, counted, "a refusal costs no tokenizer call");
      assert.deepEqual(h.events.filter((e) => e.name === "refusal").map((e) => e.data.code), ["queue_full", "queue_full"]);
    } finally {
      await h.close();
    }
  });

  it("queue_depth events report the jobs waiting for a sequence as they change", async () => {
    const h = await setup({ engine: { respond: () => ({ hang: true }) } });
    try {
      await h.manager.submit(message(shared("discord:G1:C1"), ALICE, "1"), new FakeSink());
      await h.manager.submit(message(shared("discord:G1:C2"), BOB, "2"), new FakeSink());
      await h.manager.submit(message(shared("discord:G1:C3"), user(7), "3"), new FakeSink());
      await settle();
      const depths = h.events.filter((e) => e.name === "queue_depth").map((e) => e.data.depth);
      assert.equal(depths.at(-1), 2, `one sequence busy, two waiting: ${JSON.stringify(depths)}`);
    } finally {
      await h.close();
    }
  });

  it("the per-user bound counts per platform: a webhook `user` cannot use up a Discord member's slots", async () => {
    const h = await setup({ engine: { respond: () => ({ hang: true }) }, manager: { queue: { maxPending: 10, maxPendingPerUser: 2 } } });
    try {
      await h.manager.submit(message(direct("webhook:client:a"), ALICE, "1"), new FakeSink());
      await h.manager.submit(message(direct("webhook:client:b"), ALICE, "2"), new FakeSink());
      await assert.rejects(h.manager.submit(message(direct("webhook:client:c"), ALICE, "3"), new FakeSink()), (e) => isGlmbotError(e, "queue_full"));
      await h.manager.submit(message(shared("discord:G1:C9"), ALICE, "4"), new FakeSink());
    } finally {
      await h.close();
    }
  });

  it("a stuck generation is aborted at its deadline, the user is told, and the next job runs", async () => {
    const h = await setup({ engine: { replies: [{ hang: true }] }, manager: { queue: { deadlineMs: 120_000 } } });
    try {
      const stuckSink = new FakeSink();
      const stuck = await h.manager.submit(message(shared("A"), ALICE, "hang please"), stuckSink);
      const next = await h.manager.submit(message(shared("B"), BOB, "next"), new FakeSink());
      await h.engine.waitForCalls(1);
      h.clock.advance(119_999);
      await settle();
      assert.equal(h.engine.calls.length, 1);
      h.clock.advance(1);
      const result = await stuck.done;
      assert.ok("error" in result && result.error.code === "generation_timeout");
      assert.equal(result.error.httpStatus, 504);
      assert.deepEqual(stuckSink.log, ["started", "fail generation_timeout"]);
      await next.done;
      assert.equal(h.engine.calls.length, 2);
      assert.deepEqual(await h.manager.history("A"), []);
    } finally {
      await h.close();
    }
  });

  it("a timeout after some text ends the reply as 'timeout' and stores it as partial", async () => {
    const h = await setup({ engine: { replies: [{ hang: true, partial: "The first part" }] }, manager: { queue: { deadlineMs: 1000 } } });
    try {
      const sink = new FakeSink();
      const handle = await h.manager.submit(message(direct(), ALICE, "long story"), sink);
      await h.engine.waitForCalls(1);
      while (sink.text !== "The first part") await settle(1);
      h.clock.advance(1000);
      const result = await handle.done;
      assert.ok(!("error" in result) && result.finishReason === "timeout" && result.reply === "The first part");
      assert.deepEqual((await h.manager.history(direct().key)).map((t) => t.delivery), ["delivered", "partial"]);
    } finally {
      await h.close();
    }
  });

  it("an engine that ignores the abort loses its slot after the abort grace; the next job runs", async () => {
    const h = await setup({ engine: { replies: [{ hang: true, ignoreAbort: true }] }, manager: { queue: { deadlineMs: 1000, abortGraceMs: 500 } } });
    try {
      const stuck = await h.manager.submit(message(shared("A"), ALICE, "x"), new FakeSink());
      const next = await h.manager.submit(message(shared("B"), BOB, "y"), new FakeSink());
      await h.engine.waitForCalls(1);
      h.clock.advance(1000);
      await settle();
      assert.equal(h.engine.calls.length, 1);
      h.clock.advance(500);
      const result = await stuck.done;
      assert.ok("error" in result && result.error.code === "generation_timeout");
      await next.done;
      assert.equal(h.engine.calls.length, 2);
    } finally {
      h.engine.calls[0].finish(); // let the stuck fake end so nothing dangles
      await h.close();
    }
  });

  it("tells waiting users their position as it moves, and cancels a queued job without generating", async () => {
    const h = await setup({ engine: { respond: () => ({ manual: true }) } });
    try {
      const running = await h.manager.submit(message(shared("A"), ALICE, "a"), new FakeSink());
      await h.engine.waitForCalls(1);
      const sinks = [new FakeSink(), new FakeSink(), new FakeSink()];
      const queued = [];
      for (const [i, sink] of sinks.entries()) queued.push(await h.manager.submit(message(shared(`Q${i}`), user(i), "q"), sink));
      assert.deepEqual(sinks.map((s) => s.positions), [[1], [2], [3]]);
      queued[0].cancel();
      const result = await queued[0].done;
      assert.ok("error" in result && result.error.code === "cancelled");
      assert.deepEqual(sinks[0].log, ["queued 1", "fail cancelled"]);
      assert.deepEqual(sinks.slice(1).map((s) => s.positions), [[2, 1], [3, 2]]);
      h.engine.calls[0].finish();
      await running.done;
      await h.engine.waitForCalls(2);
      assert.deepEqual(sinks[2].positions, [3, 2, 1]);
      assert.equal(h.engine.calls[1].options.conversationKey, "Q1");
    } finally {
      await h.close();
    }
  });

  it("shutdown: waiting jobs are told at once, running ones get the grace, then are aborted; new messages are refused", async () => {
    const h = await setup({ engine: { respond: () => ({ manual: true }) } });
    const runningSink = new FakeSink();
    const waitingSink = new FakeSink();
    await h.manager.submit(message(shared("A"), ALICE, "a"), runningSink);
    await h.manager.submit(message(shared("B"), BOB, "b"), waitingSink);
    const call = await h.engine.waitForCalls(1);
    const down = h.manager.shutdown({ graceMs: 5000 });
    await waitingSink.settled;
    assert.equal(waitingSink.error?.code, "shutting_down");
    await assert.rejects(h.manager.submit(message(shared("C"), ALICE, "c"), new FakeSink()), (e) => isGlmbotError(e, "shutting_down"));
    call.emit("partial");
    h.clock.advance(5000);
    await down;
    assert.equal(runningSink.error?.code, "shutting_down");
    assert.deepEqual(await h.manager.history("A"), []);
    await h.store.close();
  });
});

describe("ConversationManager: context window", () => {
  const sys: ChatTurn = { role: "system", content: SYSTEM };

  it("sends a conversation of exactly the budget unchanged; one token more drops one exchange", async () => {
    const base = await setup();
    const history: ChatTurn[] = [];
    for (const text of ["first question", "second question", "third question"]) {
      await (await base.manager.submit(message(direct(), ALICE, text), new FakeSink())).done;
      history.push({ role: "user", content: text }, { role: "assistant", content: `Reply to ${text}` });
    }
    const next: ChatTurn = { role: "user", content: "fourth question" };
    const exact = fakeCount([sys, ...history, next]);
    for (const [contextSize, dropped] of [[exact + 64, 0], [exact + 63, 2]] as const) {
      const h = await setup({ store: base.store, clock: base.clock, manager: { contextSize } });
      const sink = new FakeSink({ endThrows: true }); // not delivered, so not stored: the history stays the same
      await (await h.manager.submit(message(direct(), ALICE, "fourth question"), sink)).done;
      assert.deepEqual(h.engine.calls[0].turns, [sys, ...history.slice(dropped), next]);
      assert.equal(sink.outcome?.context.droppedTurns, dropped);
      assert.equal(sink.outcome?.context.window, contextSize - 64);
      assert.equal(sink.outcome?.context.used, fakeCount(h.engine.calls[0].turns));
      assert.ok(sink.outcome!.context.used <= contextSize - 64);
      await h.close();
    }
    await base.close();
  });

  it("keeps the system prompt through 60 exchanges without ever exceeding the window", async () => {
    const h = await setup({ engine: { contextSize: 400 }, manager: { defaults: { systemPrompt: "Always be kind and concise.", maxTokens: 64 } } });
    try {
      const rand = prng(60);
      for (let i = 0; i < 60; i++) {
        h.engine.replies.push(`answer ${i} ` + "word ".repeat(rand.int(1, 40)));
        await (await h.manager.submit(message(shared(), user(i % 3), `question ${i} ` + "x ".repeat(rand.int(1, 30))), new FakeSink())).done;
      }
      assert.equal(h.engine.calls.length, 60);
      for (const call of h.engine.calls) {
        assert.deepEqual(call.turns[0], { role: "system", content: "Always be kind and concise." });
        assert.ok(call.promptTokens <= 400 - 64);
      }
      assert.deepEqual(h.engine.violations, []);
      assert.ok(h.events.some((e) => e.name === "dropped_turns" && (e.data.turns as number) > 0));
    } finally {
      await h.close();
    }
  });

  it("never overflows with a 40-exchange Chinese-heavy history", async () => {
    const h = await setup({ engine: { contextSize: 2048 }, manager: { defaults: { systemPrompt: "你是一个乐于助人的助手。", maxTokens: 256 } } });
    try {
      const rand = prng(4040);
      for (let i = 0; i < 41; i++) {
        h.engine.replies.push(chineseText(rand, rand.int(20, 200)));
        const sink = new FakeSink();
        await (await h.manager.submit(message(shared(), user(i % 4), chineseText(rand, rand.int(10, 120))), sink)).done;
        assert.ok(sink.outcome, `exchange ${i}: ${sink.error?.code}`);
        assert.ok(sink.outcome.context.used <= 2048 - 256);
      }
      assert.deepEqual(h.engine.violations, []);
      assert.ok(h.engine.calls.at(-1)!.turns.length < 2 + 2 * 40, "older exchanges were dropped");
    } finally {
      await h.close();
    }
  });
});

describe("ConversationManager: isolation", () => {
  it("nothing from one key reaches another key's prompt or memory, under randomized interleaving", async () => {
    for (const seed of [7, 8]) {
      const h = await setup({ engine: { sequences: 3, respond: () => ({ manual: true }) }, manager: { queue: { maxPending: 1000, maxPendingPerUser: 1000 } } });
      const rand = prng(seed);
      const keys: ConversationRef[] = [shared("discord:G1:C1"), shared("discord:G1:C1:T9"), shared("discord:G2:C1"), direct("discord:DM:U1"), direct("webhook:alerts:1"), direct("webhook:ci:1")];
      const handles: JobHandle[] = [];
      let answered = 0;
      for (let step = 0; step < 120; step++) {
        const open = h.engine.calls.filter((c) => !c.options.signal?.aborted && !settledCalls.has(c));
        if (rand.next() < 0.5 || open.length === 0) {
          const k = rand.int(0, keys.length - 1);
          handles.push(await h.manager.submit(message(keys[k], user(rand.int(0, 4)), `marker-${k}-m${step}`), new FakeSink()));
        } else {
          const call = rand.pick(open);
          const k = keys.findIndex((ref) => ref.key === call.options.conversationKey);
          call.emit(`marker-${k}-reply${answered++}`);
          call.finish();
          settledCalls.add(call);
        }
        await settle(2);
      }
      for (let spin = 0; h.engine.calls.some((c) => !settledCalls.has(c)) || handles.length > h.engine.calls.length; spin++) {
        assert.ok(spin < 1000, "jobs stopped starting");
        for (const call of h.engine.calls.filter((c) => !settledCalls.has(c))) {
          const k = keys.findIndex((ref) => ref.key === call.options.conversationKey);
          call.emit(`marker-${k}-reply${answered++}`);
          call.finish();
          settledCalls.add(call);
        }
        await settle(3);
      }
      await Promise.all(handles.map((handle) => handle.done));
      assert.equal(h.engine.calls.length, handles.length);
      for (const call of h.engine.calls) {
        const k = keys.findIndex((ref) => ref.key === call.options.conversationKey);
        const markers = call.turns.flatMap((t) => t.content.match(/marker-\d+/g) ?? []);
        assert.ok(markers.length > 0 && markers.every((m) => m === `marker-${k}`), `seed ${seed}: ${call.options.conversationKey} saw ${markers}`);
      }
      for (const [k, ref] of keys.entries()) {
        const markers = (await h.manager.history(ref.key)).flatMap((t) => t.text.match(/marker-\d+/g) ?? []);
        assert.ok(markers.every((m) => m === `marker-${k}`), `seed ${seed}: memory of ${ref.key}`);
      }
      assert.deepEqual(h.engine.violations, []);
      await h.close();
    }
  });
});

const settledCalls = new WeakSet<object>();
