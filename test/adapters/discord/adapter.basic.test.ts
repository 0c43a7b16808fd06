/**
 * The Discord adapter end to end (real discord.js ↔ fake Discord; real core + llama.cpp on a scripted
 * model): triggers, streaming with paced edits, DMs, legacy mentions, replies, threads, text commands.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GatewayIntentBits } from "discord.js";
import { disposeEngines, scriptedEngine, startStack, writesOf, type Stack } from "./harness.js";

/** 250 distinct words (~1,200 characters, one message): long enough to stream over several edit intervals. */
const REPLY = `Hello from glmbot! ${Array.from({ length: 250 }, (_, i) => `w${i}`).join(" ")} Done.`;
const INTERVAL = 50;

describe("Discord adapter: triggers and streaming", { timeout: 180_000 }, () => {
  let s: Stack;
  let firstReply = "";
  before(async () => {
    s = await startStack({ engine: await scriptedEngine({ reply: REPLY }), discord: { editIntervalMs: INTERVAL } });
  });
  after(async () => {
    await s?.stop();
    await disposeEngines();
  });

  test("start-up: identifies with Guilds, GuildMessages, DirectMessages, MessageContent; registers /glm; logs the intents", () => {
    const want = GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages | GatewayIntentBits.MessageContent;
    assert.equal(s.fake.gateway.identifies[0].intents, want);
    assert.equal(s.fake.callsWhere((c) => c.method === "GET" && c.path === "/gateway/bot").length, 1);
    const put = s.fake.callsWhere((c) => c.method === "PUT" && c.path === `/applications/${s.fake.ids.app}/commands`);
    assert.equal(put.length, 1);
    assert.deepEqual(put[0].body[0].options.map((o: { name: string }) => o.name), ["reset", "system", "status", "help"]);
    assert.ok(s.logger.lines.some((l) => l.level === "info" && /MessageContent \(privileged/u.test(l.msg)));
  });

  test("a mention gets typing, then one reply, edited at most once per interval, ending with the exact text", async () => {
    const { fake } = s;
    const asked = fake.say(`<@${fake.bot.id}> hi there`);
    assert.equal((await s.done(asked)).result, "delivered");
    const typing = fake.callsWhere((c) => c.path === `/channels/${fake.ids.general}/typing`);
    assert.ok(typing.length >= 1, "typing indicator sent");
    const replies = fake.repliesTo(asked);
    assert.equal(replies.length, 1, "one reply message");
    firstReply = replies[0].id;
    assert.equal(replies[0].content, REPLY);
    assert.deepEqual(replies[0].components, [], "stop button removed at the end");
    assert.ok(typing[0].at <= fake.calls.find((c) => c.response?.id === replies[0].id)!.at, "typing came first");
    const writes = writesOf(fake, replies[0].id);
    assert.ok(writes.length >= 2, "posted, then edited");
    for (let i = 1; i < writes.length; i++) assert.ok(writes[i].at - writes[i - 1].at >= INTERVAL, `edit ${i} came ${writes[i].at - writes[i - 1].at} ms after the previous write`);
    assert.ok(writes.slice(0, -1).every((w) => JSON.stringify(w.components).includes("glmbot:stop:")), "stop button while streaming");
    const create = fake.calls.find((c) => c.response?.id === replies[0].id)!;
    assert.deepEqual(create.body.allowed_mentions, { parse: [], replied_user: false });
    const history = await s.manager.history(s.generalKey);
    assert.deepEqual(history.map((t) => [t.role, t.text]), [["user", "hi there"], ["assistant", REPLY]]);
    assert.deepEqual(history[1].platformMessageIds, [replies[0].id]);
  });

  test("a plain message without a mention gets nothing", async () => {
    const before = s.fake.calls.length;
    const id = s.fake.say("just chatting with the team");
    assert.equal((await s.ignored(id)).reason, "not_addressed");
    assert.deepEqual(s.fake.calls.slice(before), [], "no REST call at all");
  });

  test("the bot's own echoed messages and other bots' messages are ignored", async () => {
    const id = s.fake.say(`<@${s.fake.bot.id}> I am a bot`, { author: s.fake.users.otherBot });
    assert.equal((await s.ignored(id)).reason, "bot");
    assert.ok(s.fake.botMessagesIn(s.fake.ids.general).every((m) => s.fake.repliesTo(m.id).length === 0), "never answers itself");
  });

  test("a DM is answered in a direct conversation", async () => {
    const { fake } = s;
    const asked = fake.say("hello in private", { dm: true, author: fake.users.bob });
    assert.equal((await s.done(asked)).result, "delivered");
    const dm = fake.dmChannel(fake.users.bob);
    assert.equal(fake.repliesTo(asked)[0]?.content, REPLY);
    assert.equal(fake.repliesTo(asked)[0]?.channel_id, dm);
    const history = await s.manager.history(`discord:dm:${dm}`);
    assert.equal(history[0].text, "hello in private");
  });

  test("the legacy <@!id> mention is handled and stripped, other mentions become names", async () => {
    const { fake } = s;
    const asked = fake.say(`hey <@!${fake.bot.id}> ask <@${fake.users.bob.id}> about it`, { channelId: fake.ids.other });
    assert.equal((await s.done(asked)).result, "delivered");
    const history = await s.manager.history(`discord:${fake.ids.guild}:${fake.ids.other}`);
    assert.equal(history[0].text, "hey ask @Bob about it");
    assert.equal(history[0].authorName, "Alice");
  });

  test("a reply to the bot continues the conversation without a new mention", async () => {
    const { fake } = s;
    const asked = fake.say("and what else?", { replyTo: firstReply, author: fake.users.bob });
    assert.equal((await s.done(asked)).result, "delivered");
    const history = await s.manager.history(s.generalKey);
    assert.deepEqual(history.filter((t) => t.role === "user").map((t) => [t.authorName, t.text]), [["Alice", "hi there"], ["Bob", "and what else?"]]);
  });

  test("threads: answered after the bot answered there; keyed by thread", async () => {
    const { fake } = s;
    const threadId = fake.createThread(fake.ids.general, "Topic");
    const plain = fake.say("anyone?", { channelId: threadId });
    assert.equal((await s.ignored(plain)).reason, "not_addressed");
    const asked = fake.say(`<@${fake.bot.id}> in the thread`, { channelId: threadId });
    assert.equal((await s.done(asked)).result, "delivered");
    const followUp = fake.say("follow-up without a mention", { channelId: threadId });
    assert.equal((await s.done(followUp)).result, "delivered");
    const history = await s.manager.history(`discord:${fake.ids.guild}:${fake.ids.general}:${threadId}`);
    assert.deepEqual(history.filter((t) => t.role === "user").map((t) => t.text), ["in the thread", "follow-up without a mention"]);
  });

  test("text commands after the mention: help, and system needs Manage Server", async () => {
    const { fake } = s;
    const help = fake.say(`<@${fake.bot.id}> help`, { channelId: fake.ids.other });
    const answer = await fake.waitForCall((c) => c.method === "POST" && c.body?.message_reference?.message_id === help, "help answer");
    assert.match(answer.body.content, /reset: forget this conversation/u);
    const denied = fake.say(`<@${fake.bot.id}> system You are a pirate.`, { channelId: fake.ids.other, author: fake.users.bob });
    const refusal = await fake.waitForCall((c) => c.method === "POST" && c.body?.message_reference?.message_id === denied, "refusal");
    assert.match(refusal.body.content, /Manage Server/u);
    const allowed = fake.say(`<@${fake.bot.id}> system You are a pirate.`, { channelId: fake.ids.other, author: fake.users.admin });
    const set = await fake.waitForCall((c) => c.method === "POST" && c.body?.message_reference?.message_id === allowed, "system answer");
    assert.match(set.body.content, /System prompt set/u);
    assert.equal((await s.store.get(`discord:${fake.ids.guild}:${fake.ids.other}`))?.systemPrompt, "You are a pirate.");
  });

  test("a bare mention gets a hint; nothing goes to the model", async () => {
    const { fake } = s;
    const id = fake.say(`<@${fake.bot.id}>`, { channelId: fake.ids.other, author: fake.users.bob });
    assert.equal((await s.ignored(id)).reason, "empty");
    const hint = fake.callsWhere((c) => c.method === "POST" && c.body?.message_reference?.message_id === id);
    assert.equal(hint.length, 1);
    assert.match(hint[0].body.content, /Ask me something/u);
  });
});
