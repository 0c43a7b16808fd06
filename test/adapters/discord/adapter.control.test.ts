/**
 * Concurrency and control through the real stack: two askers in one channel, queue positions, a message
 * deleted while queued, the stop button, a replayed MESSAGE_CREATE after a gateway resume, slash commands,
 * and a failed send. The "never-ending" scripted model (`endWith: "none"`) keeps a job running until it
 * is stopped, so the queue states are reached deterministically.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { NOT_ALLOWED_TEXT } from "../../../src/adapters/discord/slashCommands.js";
import type { RecordedCall } from "../../fixtures/fakeDiscord/FakeDiscord.js";
import { SwitchableEngine, disposeEngines, scriptedEngine, startStack, type Stack } from "./harness.js";

const CONTEXT = 8192;
const replyCall = (askedId: string, content?: RegExp) => (c: RecordedCall) =>
  c.method === "POST" && c.status === 200 && c.body?.message_reference?.message_id === askedId && (!content || content.test(c.body.content));
const interactionCallback = (id: string) => (c: RecordedCall) => c.method === "POST" && c.path.startsWith(`/interactions/${id}/`);
const originalEdit = (id: string) => (c: RecordedCall) => c.method === "PATCH" && c.path.includes(`/token-${id}/messages/@original`);

describe("Discord adapter: queue, stop, replay, commands, failures", { timeout: 240_000 }, () => {
  let s: Stack;
  let engine: SwitchableEngine;
  const finite = () => scriptedEngine({ reply: "Here is your answer." }, CONTEXT);
  const neverEnding = () => scriptedEngine({ reply: "Thinking hard", endWith: "none" }, CONTEXT);

  before(async () => {
    engine = new SwitchableEngine(await finite());
    s = await startStack({ engine, maxTokens: 8000, discord: { editIntervalMs: 50 } });
  });
  after(async () => {
    await s?.stop();
    await disposeEngines();
  });

  test("two users mentioning at once in one channel get separate, correct replies in order", async () => {
    const { fake } = s;
    engine.use(await finite());
    const a = fake.say(`<@${fake.bot.id}> question from Alice`, { channelId: fake.ids.other });
    const b = fake.say(`<@${fake.bot.id}> question from Bob`, { channelId: fake.ids.other, author: fake.users.bob });
    assert.equal((await s.done(a)).result, "delivered");
    assert.equal((await s.done(b)).result, "delivered");
    const [replyA] = fake.repliesTo(a);
    const [replyB] = fake.repliesTo(b);
    assert.equal(replyA.content, "Here is your answer.");
    assert.equal(replyB.content, "Here is your answer.");
    const history = await s.manager.history(`discord:${fake.ids.guild}:${fake.ids.other}`);
    assert.deepEqual(
      history.map((t) => [t.role, t.authorName === "Alice" || t.authorName === "Bob" ? t.authorName : "bot", t.platformMessageIds]),
      [["user", "Alice", [a]], ["assistant", "bot", [replyA.id]], ["user", "Bob", [b]], ["assistant", "bot", [replyB.id]]],
    );
  });

  test("queue positions, a deleted queued message is dropped, the stop button (asker or manager only)", async () => {
    const { fake } = s;
    engine.use(await neverEnding());
    const a = fake.say(`<@${fake.bot.id}> long one`, { author: fake.users.alice });
    const streaming = await fake.waitForCall(replyCall(a), "A's streaming reply");
    const replyA = streaming.response.id as string;
    const b = fake.say(`<@${fake.bot.id}> me next`, { author: fake.users.bob });
    const c = fake.say(`<@${fake.bot.id}> and me`, { author: fake.users.bob });
    await fake.waitForCall(replyCall(b, /^⏳ #1 in queue$/u), "B's queue position");
    const queuedC = await fake.waitForCall(replyCall(c, /^⏳ #2 in queue$/u), "C's queue position");
    assert.match(JSON.stringify(queuedC.body.components), /glmbot:stop:/u, "a queued job can be stopped too");

    fake.deleteMessage(b);
    const dropped = await s.done(b);
    assert.deepEqual([dropped.result, dropped.code], ["failed", "cancelled"]);
    const queueMsgB = fake.calls.find(replyCall(b))!.response.id as string;
    await fake.waitForCall((x) => x.method === "DELETE" && x.path.endsWith(`/messages/${queueMsgB}`), "B's queue notice deleted");
    await fake.waitForCall((x) => x.method === "PATCH" && x.path.endsWith(`/messages/${queuedC.response.id}`) && x.body.content === "⏳ #1 in queue", "C moves up");

    const denied = fake.click(replyA, `glmbot:stop:${a}`, fake.users.bob);
    const refusal = await fake.waitForCall(interactionCallback(denied), "refusal");
    assert.deepEqual([refusal.body.type, refusal.body.data.flags], [4, 64]);
    const stop = fake.click(replyA, `glmbot:stop:${a}`, fake.users.alice);
    assert.equal((await fake.waitForCall(interactionCallback(stop), "stop ack")).body.type, 6);
    assert.equal((await s.done(a)).result, "delivered");
    const stoppedA = fake.messages.get(replyA)!;
    assert.match(stoppedA.content, /^Thinking hard.*\n\n⏹️ \(stopped\)$/su, "partial text stays, marked as stopped");
    assert.deepEqual(stoppedA.components, []);
    const late = fake.click(replyA, `glmbot:stop:${a}`, fake.users.alice);
    const lateAnswer = await fake.waitForCall(interactionCallback(late), "late stop");
    assert.deepEqual([lateAnswer.body.type, lateAnswer.body.data.flags], [4, 64], "a finished reply: ephemeral notice");

    await fake.waitForCall((x) => x.method === "PATCH" && x.path.endsWith(`/messages/${queuedC.response.id}`) && /^Thinking/u.test(x.body.content), "C streams");
    const managerStop = fake.click(queuedC.response.id, `glmbot:stop:${c}`, fake.users.admin);
    assert.equal((await fake.waitForCall(interactionCallback(managerStop), "manager stop ack")).body.type, 6);
    assert.equal((await s.done(c)).result, "delivered");
    const history = await s.manager.history(s.generalKey);
    assert.deepEqual(history.map((t) => [t.role, t.delivery]), [["user", "delivered"], ["assistant", "partial"], ["user", "delivered"], ["assistant", "partial"]]);
    assert.ok(!history.some((t) => t.platformMessageIds.includes(b)), "the deleted message was never answered");
  });

  test("a MESSAGE_CREATE replayed after a gateway resume gets no second reply", async () => {
    const { fake, adapter } = s;
    engine.use(await finite());
    const m = fake.say(`<@${fake.bot.id}> only once please`);
    assert.equal((await s.done(m)).result, "delivered");
    await fake.gateway.reconnect([fake.replayPayload(m)]);
    assert.equal(fake.gateway.resumes.length, 1, "discord.js resumed the session");
    const sentinel = fake.say("after the resume");
    await s.ignored(sentinel);
    // Also once discord.js no longer caches the message: the adapter's own memory of handled ids decides.
    adapter.client!.channels.cache.get(fake.ids.general)!.isTextBased() &&
      (adapter.client!.channels.cache.get(fake.ids.general) as { messages: { cache: Map<string, unknown> } }).messages.cache.delete(m);
    fake.gateway.dispatch("MESSAGE_CREATE", fake.replayPayload(m).d);
    assert.equal((await s.ignored(m)).reason, "duplicate");
    assert.equal(fake.repliesTo(m).length, 1);
    assert.equal((await s.manager.history(s.generalKey)).filter((t) => t.platformMessageIds.includes(m)).length, 1);
  });

  test("slash commands: /glm status (private), /glm system needs Manage Server, /glm reset clears memory", async () => {
    const { fake } = s;
    engine.use(await finite());
    assert.equal((await s.done(fake.say(`<@${fake.bot.id}> remember this`))).result, "delivered");
    assert.ok((await s.manager.history(s.generalKey)).length > 0);
    const status = fake.slash("status");
    assert.deepEqual((await fake.waitForCall(interactionCallback(status), "status defer")).body, { type: 5, data: { flags: 64 } });
    assert.match((await fake.waitForCall(originalEdit(status), "status answer")).body.content, /^Model: .*\nContext: \d+\/\d+ tokens/su);

    const denied = fake.slash("system", { text: "Be brief." });
    const refusal = await fake.waitForCall(interactionCallback(denied), "system refusal");
    assert.deepEqual([refusal.body.type, refusal.body.data.content, refusal.body.data.flags], [4, NOT_ALLOWED_TEXT, 64]);
    const allowed = fake.slash("system", { text: "Be brief.", user: fake.users.admin });
    assert.match((await fake.waitForCall(originalEdit(allowed), "system answer")).body.content, /System prompt set/u);
    assert.equal((await s.store.get(s.generalKey))?.systemPrompt, "Be brief.");

    const reset = fake.slash("reset");
    assert.equal((await fake.waitForCall(interactionCallback(reset), "reset defer")).body.type, 5);
    assert.match((await fake.waitForCall(originalEdit(reset), "reset answer")).body.content, /forgotten/u);
    assert.deepEqual(await s.manager.history(s.generalKey), []);
    assert.equal(await s.store.get(s.generalKey), undefined, "system prompt forgotten too");
  });

  test("a failed send tells the user, is not stored, and the channel keeps working", async () => {
    const { fake } = s;
    engine.use(await finite());
    let failing = true;
    fake.inject({
      when: (c) => failing && c.method === "POST" && c.path === `/channels/${fake.ids.other}/messages` && !String(c.body?.content).startsWith("⚠️"),
      status: 403,
      body: { message: "Missing Permissions", code: 50013 },
      times: 1000,
    });
    const before = (await s.manager.history(`discord:${fake.ids.guild}:${fake.ids.other}`)).length;
    const submitted = new Map<string, { key: string; jobId: string }>();
    const onSubmitted = (e: { messageId: string; key: string; jobId: string }) => void submitted.set(e.messageId, e);
    s.adapter.events.on("submitted", onSubmitted);
    const a = fake.say(`<@${fake.bot.id}> will this arrive?`, { channelId: fake.ids.other });
    const failed = await s.done(a);
    s.adapter.events.off("submitted", onSubmitted);
    assert.deepEqual([failed.result, failed.code], ["failed", "delivery_failed"]);
    // the adapter's lines about the failed reply carry the job id core gave it (and the conversation key)
    const job = submitted.get(a);
    assert.ok(job, "submitted");
    const mine = s.logger.lines.filter((l) => (l.obj as { messageId?: string }).messageId === a);
    const editFailed = mine.find((l) => l.msg === "discord: could not update the reply");
    assert.ok(editFailed, "the failed post was logged");
    assert.deepEqual([(editFailed.obj as { jobId?: string }).jobId, (editFailed.obj as { key?: string }).key], [job.jobId, job.key]);
    const notDelivered = mine.find((l) => l.msg === "discord: the reply could not be delivered");
    assert.equal((notDelivered?.obj as { jobId?: string } | undefined)?.jobId, job.jobId);
    for (const l of mine.filter((l) => l.level === "warn")) assert.equal((l.obj as { jobId?: string }).jobId, job.jobId, `"${l.msg}" carries the job id`);
    assert.match(fake.repliesTo(a).map((m) => m.content).join(), /could not be delivered/u);
    failing = false;
    const b = fake.say(`<@${fake.bot.id}> and now?`, { channelId: fake.ids.other });
    assert.equal((await s.done(b)).result, "delivered");
    assert.equal(fake.repliesTo(b)[0].content, "Here is your answer.");
    const history = await s.manager.history(`discord:${fake.ids.guild}:${fake.ids.other}`);
    assert.deepEqual(history.slice(before).map((t) => t.text), ["and now?", "Here is your answer."]);
  });
});
