/**
 * Events API over HTTP: the real Bolt HTTPReceiver, ConversationManager and a LlamaEngine on a scripted
 * ChatGLM test model (greedy decoding answers REPLY), against the fake Slack on 127.0.0.1.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { LlamaEngine } from "../../../src/inference/LlamaEngine.js";
import { appMention, channelMessage, directMessage, eventCallback, sendSigned, slackSignature, slashCommand } from "../../fixtures/fakeSlack/events.js";
import { openEngine } from "../../inference/helpers.js";
import { hasStop, shownText, SIGNING_SECRET, startHarness, type Harness } from "./harness.js";

const REPLY = "Hello **world**! See [the docs](https://example.com/docs) and `npm test`.";
const MRKDWN = "Hello \u200b*world*\u200b! See <https://example.com/docs|the docs> and `npm test`.";

let engine: LlamaEngine;
let h: Harness;

before(async () => {
  engine = await openEngine({ flavor: "glm4", reply: REPLY }, { sequences: 1, contextSize: 512 });
  h = await startHarness({ engine });
});

after(async () => {
  await h?.close();
  await engine?.dispose();
});

const replies = (channel: string, thread?: string) => h.fake.thread(channel, thread);
const posts = () => h.fake.callsTo("chat.postMessage").length;

test("a channel @mention gets one threaded reply, Markdown converted to mrkdwn", async () => {
  const response = await h.sendEvent(appMention({ text: "<@UBOT> say hello", ts: "1000.0001" }));
  assert.equal(response.status, 200);
  const [reply] = await h.waitForReply("C1", "1000.0001", (m) => m.length === 1 && shownText(m[0]) === MRKDWN);
  assert.equal(reply.text, MRKDWN, "plain text fallback");
  assert.equal(reply.threadTs, "1000.0001");
  assert.equal(hasStop(reply), false);
  const history = await h.history("slack:T1:C1:1000.0001", 2);
  assert.deepEqual(history.map((t) => [t.role, t.text]), [["user", "say hello"], ["assistant", REPLY]]);
  assert.deepEqual(history[1].platformMessageIds, [reply.ts]);
  // while generating, the message showed a Stop button (the first post) and was edited into the answer
  const first = h.fake.callsTo("chat.postMessage").find((c) => c.args.thread_ts === "1000.0001")!;
  assert.ok(first.args.blocks.some((b: { type: string }) => b.type === "actions"));
});

test("a DM gets a reply at the top level of the DM", async () => {
  await h.sendEvent(directMessage({ text: "hi there", ts: "1001.0001" }));
  const [reply] = await h.waitForReply("D1", undefined, (m) => m.some((x) => shownText(x) === MRKDWN));
  assert.equal(reply.threadTs, undefined);
  assert.equal((await h.history("slack:T1:D1", 2)).length, 2);
});

test("a bad signature and a 10-minute-old timestamp get 401 and start no job", async () => {
  const before = posts();
  const body = JSON.stringify(eventCallback(appMention({ text: "<@UBOT> hi", ts: "1002.0001" })));
  const bad = await sendSigned(h.adapter.eventsUrl!, body, { secret: SIGNING_SECRET, signature: `v0=${"0".repeat(64)}` });
  assert.equal(bad.status, 401);
  const old = Math.floor(Date.now() / 1000) - 600;
  const stale = await sendSigned(h.adapter.eventsUrl!, body, { secret: SIGNING_SECRET, timestamp: old, signature: slackSignature(SIGNING_SECRET, old, body) });
  assert.equal(stale.status, 401);
  const wrongSecret = await sendSigned(h.adapter.eventsUrl!, body, { secret: "another-secret-0123456789" });
  assert.equal(wrongSecret.status, 401);
  assert.equal(posts(), before);
  assert.equal((await h.manager.history("slack:T1:C1:1002.0001")).length, 0);
});

test("url_verification is answered with the challenge", async () => {
  const body = JSON.stringify({ token: "x", challenge: "abc123", type: "url_verification" });
  const response = await sendSigned(h.adapter.eventsUrl!, body, { secret: SIGNING_SECRET });
  assert.equal(response.status, 200);
  assert.deepEqual(JSON.parse(response.text), { challenge: "abc123" });
});

test("a retried delivery (X-Slack-Retry-Num) and the message twin of a mention produce no second reply", async () => {
  const event = appMention({ text: "<@UBOT> once please", ts: "1003.0001" });
  const first = await h.sendEvent(event);
  await h.waitForReply("C1", "1003.0001", (m) => shownText(m[0]) === MRKDWN);
  const ignoredBefore = h.logs.filter((l) => l.msg === "duplicate Slack delivery ignored").length;
  for (const retryNum of [1, 2, 3]) {
    const retry = await h.sendEvent(event, { eventId: first.eventId, retryNum, retryReason: "http_timeout" });
    assert.equal(retry.status, 200);
  }
  // the channel `message` event for the same mention: another event id, same channel and ts
  await h.sendEvent(channelMessage({ text: "<@UBOT> once please", ts: "1003.0001" }));
  await h.waitForLog("duplicate Slack delivery ignored", ignoredBefore + 4);
  assert.equal(replies("C1", "1003.0001").length, 1);
  assert.equal((await h.history("slack:T1:C1:1003.0001", 2)).length, 2);
});

test("app_mention and message for one mention, arriving together, give one reply", async () => {
  const text = "<@UBOT> together";
  await Promise.all([h.sendEvent(appMention({ text, ts: "1004.0001" })), h.sendEvent(channelMessage({ text, ts: "1004.0001" }))]);
  await h.waitForReply("C1", "1004.0001", (m) => shownText(m[0]) === MRKDWN);
  await h.waitForLog("duplicate Slack delivery ignored", 1);
  assert.equal(replies("C1", "1004.0001").length, 1);
  assert.equal((await h.history("slack:T1:C1:1004.0001", 2)).length, 2);
});

test("the bot's own mention is stripped anywhere; other users' mentions become names (users.info, cached)", async () => {
  const infoBefore = h.fake.callsTo("users.info").length;
  await h.sendEvent(appMention({ user: "UALICE", text: "<@UBOT> ask <@UBOB> about <@UBOT|glmbot> this, <@UBOB>", ts: "1005.0001" }));
  await h.waitForReply("C1", "1005.0001", (m) => shownText(m[0]) === MRKDWN);
  const [user] = await h.history("slack:T1:C1:1005.0001", 2);
  assert.equal(user.text, "ask @Bob about this, @Bob");
  assert.equal(user.authorName, "Alice");
  const lookups = h.fake.callsTo("users.info").slice(infoBefore).map((c) => c.args.user);
  assert.equal(lookups.filter((u) => u === "UBOB").length <= 1, true, "cached");
  assert.equal(lookups.includes("UBOT"), false, "the bot is never looked up");
});

test("follow-ups in a thread the bot answered need no mention; other threads are left alone", async () => {
  await h.sendEvent(appMention({ text: "<@UBOT> start", ts: "1006.0001" }));
  await h.waitForReply("C1", "1006.0001", (m) => m.length === 1 && shownText(m[0]) === MRKDWN);
  await h.sendEvent(channelMessage({ text: "and a follow-up", ts: "1006.0002", thread_ts: "1006.0001" }));
  await h.waitForReply("C1", "1006.0001", (m) => m.length === 2 && shownText(m[1]) === MRKDWN);
  assert.equal((await h.history("slack:T1:C1:1006.0001", 4)).length, 4);
  const before = posts();
  await h.sendEvent(channelMessage({ text: "humans talking", ts: "1007.0002", thread_ts: "1007.0001" }));
  await h.sendEvent(channelMessage({ text: "top-level chatter", ts: "1007.0003" }));
  await h.waitForLog("Slack event ignored", 1);
  assert.equal(posts(), before);
});

test("the bot ignores its own messages, its edits, deletions and other bots", async () => {
  const ignoredBefore = h.logs.filter((l) => l.msg === "Slack event ignored").length;
  const before = posts();
  await h.sendEvent(directMessage({ user: "UBOT", text: "my own reply", ts: "1008.0001" }));
  await h.sendEvent(channelMessage({ user: "UBOT", text: "<@UBOT> my own mention", ts: "1008.0002", thread_ts: "1006.0001" }));
  await h.sendEvent(directMessage({ subtype: "message_changed", text: "", ts: "1008.0003" } as never));
  await h.sendEvent({ ...channelMessage({ text: "", ts: "1008.0004", thread_ts: "1006.0001" }), subtype: "message_changed", user: undefined, message: { user: "UBOT", text: "edited" } });
  await h.sendEvent({ ...channelMessage({ text: "", ts: "1008.0005" }), subtype: "message_deleted", user: undefined });
  await h.sendEvent(channelMessage({ subtype: "bot_message", bot_id: "BBOT", text: "bot post", ts: "1008.0006", thread_ts: "1006.0001" }));
  await h.sendEvent(channelMessage({ bot_id: "BOTHER", user: "UOTHERBOT", text: "<@UBOT> hi from another bot", ts: "1008.0007" }));
  // Bolt drops some of these itself (ignoreSelf); count what reached the adapter plus a sentinel DM
  await h.sendEvent(directMessage({ text: "sentinel", ts: "1008.0010" }));
  await h.waitForReply("D1", undefined, (m) => m.length >= 2);
  assert.equal(posts(), before + 1, "only the sentinel was answered");
  assert.ok(h.logs.filter((l) => l.msg === "Slack event ignored").length >= ignoredBefore + 4);
});

test("/glm reset (slash command) clears the DM's memory; `@bot status` is answered in the thread", async () => {
  assert.ok((await h.history("slack:T1:D1", 2)).length >= 2);
  const body = slashCommand({ text: "reset", channel: "D1", responseUrl: h.fake.responseUrl("cmd-1") });
  const response = await sendSigned(h.adapter.eventsUrl!, body, { secret: SIGNING_SECRET, form: true });
  assert.equal(response.status, 200);
  await h.fake.waitFor(() => h.fake.responses.some((r) => r.id === "cmd-1"), "the command's response");
  const answer = h.fake.responses.find((r) => r.id === "cmd-1")!.body;
  assert.equal(answer.response_type, "ephemeral");
  assert.match(String(answer.text), /forgotten/);
  assert.deepEqual(await h.manager.history("slack:T1:D1"), []);

  await h.sendEvent(appMention({ text: "<@UBOT> status", ts: "1009.0001" }));
  const [status] = await h.waitForReply("C1", "1009.0001");
  assert.match(shownText(status), /^Model: /);
  assert.deepEqual(await h.manager.history("slack:T1:C1:1009.0001"), [], "commands are not conversation turns");
});
