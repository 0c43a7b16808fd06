/**
 * SlackReplySink on its own (real WebClient against the fake Slack, real timers with a 20 ms interval):
 * the states a reply goes through and the final message set.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SlackApi } from "../../../src/adapters/slack/SlackApi.js";
import { SlackReplySink } from "../../../src/adapters/slack/SlackReplySink.js";
import { systemClock } from "../../../src/core/clock.js";
import { GlmbotError } from "../../../src/core/errors.js";
import { silentLogger } from "../../../src/core/logger.js";
import type { ReplyOutcome } from "../../../src/core/ports.js";
import { FakeSlack } from "../../fixtures/fakeSlack/FakeSlack.js";
import { hasStop, shownText } from "./harness.js";

let fake: FakeSlack;
let api: SlackApi;
before(async () => {
  fake = await FakeSlack.start();
  api = new SlackApi({ token: "xoxb-t", apiUrl: fake.apiUrl, clock: systemClock, logger: silentLogger });
  api.self = { userId: fake.botUserId, botId: fake.botId };
});
after(async () => {
  api.close();
  await fake.close();
});

let seq = 0;
const sink = (maxChars = 3000) => {
  const thread = `${++seq}.5`;
  return { thread, sink: new SlackReplySink({ api, channel: "C9", threadTs: thread, stopId: `s${seq}`, intervalMs: 20, maxChars, clock: systemClock, logger: silentLogger }) };
};
const outcome = (reply: string, finishReason: ReplyOutcome["finishReason"] = "stop"): ReplyOutcome => ({ jobId: "j", reply, finishReason, usage: { promptTokens: 1, completionTokens: 1 }, context: { window: 1, used: 1, droppedTurns: 0 } });

test("queued → thinking → text, with the Stop button until the end", async () => {
  const { thread, sink: s } = sink();
  s.queued(2);
  await fake.waitFor(() => fake.thread("C9", thread).length === 1);
  assert.equal(shownText(fake.thread("C9", thread)[0]), "⏳ #2 in queue");
  assert.ok(hasStop(fake.thread("C9", thread)[0]));
  s.started();
  await fake.waitFor(() => shownText(fake.thread("C9", thread)[0]) === "💭 Thinking…");
  s.write("Hello ");
  s.write("**there**");
  const receipt = await s.end(outcome("Hello **there**"));
  const [message] = fake.thread("C9", thread);
  assert.equal(shownText(message), "Hello \u200b*there*\u200b");
  assert.equal(hasStop(message), false);
  assert.deepEqual(receipt, { platformMessageIds: [message.ts] });
});

test("finish markers, the empty-reply text, and surplus messages removed when the final text is shorter", async () => {
  const { thread, sink: s } = sink(200);
  s.started();
  s.write("word ".repeat(100));
  await fake.waitFor(() => fake.thread("C9", thread).length >= 2, "two messages while streaming");
  const receipt = await s.end(outcome("Short after all.", "length"));
  const messages = fake.thread("C9", thread);
  assert.equal(messages.length, 1);
  assert.equal(shownText(messages[0]), "Short after all.\n\n✂️ (cut off at the reply length limit)");
  assert.equal(receipt.platformMessageIds!.length, 1);

  const empty = sink();
  await empty.sink.end(outcome("  \n"));
  assert.match(shownText(fake.thread("C9", empty.thread)[0]), /empty reply/);
});

test("fail keeps the partial text and adds the notice; fail before any text shows only the notice", async () => {
  const { thread, sink: s } = sink();
  s.started();
  s.write("Partial answer");
  await s.fail(new GlmbotError("generation_failed", "x"));
  const shown = fake.thread("C9", thread).map(shownText);
  assert.deepEqual(shown, ["Partial answer", "⚠️ Sorry, the model failed to generate a reply. Please try again."]);

  const refused = sink();
  await refused.sink.fail(new GlmbotError("queue_full", "The bot is busy. Please try again shortly.", { retryAfterSeconds: 5 }));
  assert.deepEqual(fake.thread("C9", refused.thread).map(shownText), ["🚦 The bot is busy. Please try again in about 5 s."]);
});

test("a rejected post (ok: false) makes end reject and tells the user", async () => {
  const { thread, sink: s } = sink();
  fake.fail("chat.postMessage", { error: "channel_not_found" });
  await assert.rejects(s.end(outcome("Never shown")), /channel_not_found/);
  assert.deepEqual(fake.thread("C9", thread).map(shownText), ["⚠️ Sorry, the reply could not be delivered. Please try again."]);
});
