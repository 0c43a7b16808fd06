import { test } from "node:test";
import assert from "node:assert/strict";
import { decide, mentions, type SlackMessageEvent, type TriggerPolicy } from "../../../src/adapters/slack/triggers.js";

const policy: TriggerPolicy = { botUserId: "UBOT", botId: "BBOT", allowedChannels: [], allowedUsers: [], dmPolicy: "open", threadFollowUps: true };
const env = { team_id: "T1", event_id: "Ev1" };
const mention = (extra: Partial<SlackMessageEvent> = {}): SlackMessageEvent => ({ type: "app_mention", user: "UALICE", channel: "C1", text: "<@UBOT> hi", ts: "100.1", ...extra });
const message = (extra: Partial<SlackMessageEvent> = {}): SlackMessageEvent => ({ type: "message", channel_type: "channel", user: "UALICE", channel: "C1", text: "hi", ts: "100.1", ...extra });

test("a channel mention is answered in a thread rooted at the message, keyed team+channel+root", () => {
  const d = decide(mention(), env, policy);
  assert.ok(d.answer);
  assert.equal(d.trigger.kind, "mention");
  assert.equal(d.trigger.replyThreadTs, "100.1");
  assert.deepEqual(d.trigger.conversation, { key: "slack:T1:C1:100.1", kind: "shared" });
  assert.deepEqual(d.trigger.dedupeKeys, ["event:Ev1", "msg:T1:C1:100.1"]);
});

test("a mention inside a thread replies in that thread and shares its key", () => {
  const d = decide(mention({ ts: "105.5", thread_ts: "100.1" }), env, policy);
  assert.ok(d.answer);
  assert.equal(d.trigger.replyThreadTs, "100.1");
  assert.equal(d.trigger.conversation.key, "slack:T1:C1:100.1");
  assert.deepEqual(d.trigger.dedupeKeys, ["event:Ev1", "msg:T1:C1:105.5"]);
});

test("the message event of a mention is the same delivery (same msg key, different event id)", () => {
  const a = decide(mention(), { team_id: "T1", event_id: "EvA" }, policy);
  const b = decide(message({ text: "<@UBOT> hi" }), { team_id: "T1", event_id: "EvB" }, policy);
  assert.ok(a.answer && b.answer);
  assert.equal(b.trigger.kind, "mention");
  assert.equal(a.trigger.dedupeKeys[1], b.trigger.dedupeKeys[1]);
  assert.notEqual(a.trigger.dedupeKeys[0], b.trigger.dedupeKeys[0]);
  assert.equal(a.trigger.conversation.key, b.trigger.conversation.key);
});

test("DMs: keyed by channel at top level (reply at top level), by thread inside a thread", () => {
  const top = decide(message({ channel_type: "im", channel: "D1" }), env, policy);
  assert.ok(top.answer);
  assert.equal(top.trigger.kind, "dm");
  assert.equal(top.trigger.replyThreadTs, undefined);
  assert.deepEqual(top.trigger.conversation, { key: "slack:T1:D1", kind: "direct" });
  const threaded = decide(message({ channel_type: "im", channel: "D1", ts: "101.1", thread_ts: "100.1" }), env, policy);
  assert.ok(threaded.answer);
  assert.equal(threaded.trigger.replyThreadTs, "100.1");
  assert.equal(threaded.trigger.conversation.key, "slack:T1:D1:100.1");
});

test("a plain thread reply is a candidate follow-up; a plain top-level channel message is not addressed", () => {
  const follow = decide(message({ ts: "101.1", thread_ts: "100.1" }), env, policy);
  assert.ok(follow.answer);
  assert.equal(follow.trigger.kind, "thread");
  assert.equal(follow.trigger.threadRoot, "100.1");
  assert.deepEqual(decide(message(), env, policy), { answer: false, reason: "not addressed to the bot" });
  assert.equal(decide(message({ ts: "101.1", thread_ts: "100.1" }), env, { ...policy, threadFollowUps: false }).answer, false);
  // a thread root's own message event has thread_ts === ts: not a follow-up
  assert.equal(decide(message({ ts: "100.1", thread_ts: "100.1" }), env, policy).answer, false);
});

test("own messages, other bots, edits, deletes and other subtypes are ignored", () => {
  const ignored: Array<[SlackMessageEvent, string]> = [
    [message({ user: "UBOT", text: "<@UBOT> echo" }), "own message"],
    [message({ bot_id: "BOTHER", text: "<@UBOT> hi" }), "from a bot"],
    [message({ subtype: "bot_message", bot_id: "BBOT", user: undefined }), "subtype bot_message"],
    [message({ subtype: "message_changed", user: undefined }), "subtype message_changed"],
    [message({ subtype: "message_deleted", user: undefined }), "subtype message_deleted"],
    [message({ subtype: "channel_join", text: "<@UALICE> has joined" }), "subtype channel_join"],
    [mention({ edited: { user: "UALICE", ts: "101.0" } }), "edited or hidden"],
    [{ type: "reaction_added", user: "UALICE" }, "not a message event"],
  ];
  for (const [event, reason] of ignored) assert.deepEqual(decide(event, env, policy), { answer: false, reason }, JSON.stringify(event));
  assert.equal(decide(message({ subtype: "thread_broadcast", text: "<@UBOT> hi" }), env, policy).answer, true);
  assert.equal(decide(message({ subtype: "file_share", text: "<@UBOT> look" }), env, policy).answer, true);
});

test("access control: channel and user allowlists; DM policy open | allowlist | off", () => {
  const channels = { ...policy, allowedChannels: ["C2"] };
  assert.deepEqual(decide(mention(), env, channels), { answer: false, reason: "channel not allowed" });
  assert.equal(decide(mention({ channel: "C2" }), env, channels).answer, true);
  assert.equal(decide(message({ channel_type: "im", channel: "D1" }), env, channels).answer, true, "channel list does not apply to DMs");
  const users = { ...policy, allowedUsers: ["UBOB"] };
  assert.deepEqual(decide(mention(), env, users), { answer: false, reason: "user not allowed" });
  assert.equal(decide(mention({ user: "UBOB" }), env, users).answer, true);
  const dm = message({ channel_type: "im", channel: "D1" });
  assert.equal(decide(dm, env, policy).answer, true, "open DMs, no user list: everyone");
  assert.deepEqual(decide(dm, env, users), { answer: false, reason: "user not allowed" }, "the user list applies to DMs too");
  assert.equal(decide({ ...dm, user: "UBOB" }, env, users).answer, true);
  assert.deepEqual(decide(dm, env, { ...policy, dmPolicy: "allowlist" }), { answer: false, reason: "user not allowed to DM" }, "allowlist with no list: nobody");
  assert.deepEqual(decide(dm, env, { ...users, dmPolicy: "allowlist" }), { answer: false, reason: "user not allowed to DM" });
  assert.equal(decide({ ...dm, user: "UBOB" }, env, { ...users, dmPolicy: "allowlist" }).answer, true);
  assert.deepEqual(decide({ ...dm, user: "UBOB" }, env, { ...users, dmPolicy: "off" }), { answer: false, reason: "DMs are off" });
});

test("team comes from the envelope, else the event; no event id → only the message key", () => {
  const d = decide(mention({ team: "T9" }), {}, policy);
  assert.ok(d.answer);
  assert.equal(d.trigger.team, "T9");
  assert.deepEqual(d.trigger.dedupeKeys, ["msg:T9:C1:100.1"]);
});

test("mentions() recognises both mention forms", () => {
  assert.equal(mentions("hi <@UBOT>", "UBOT"), true);
  assert.equal(mentions("hi <@UBOT|glmbot>", "UBOT"), true);
  assert.equal(mentions("hi <@UBOTX>", "UBOT"), false);
  assert.equal(mentions("hi @UBOT", "UBOT"), false);
});
