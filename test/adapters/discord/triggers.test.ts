import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DiscordSectionSchema } from "../../../src/adapters/discord/config.js";
import { conversationOf, decideMessage, isAllowed, promptText, type MessageFacts, type TriggerOptions } from "../../../src/adapters/discord/triggers.js";

const BOT = { id: "100000000000000001", roleId: "300000000000000001" };
const G = "200000000000000001";
const C = "200000000000000002";
const T = "200000000000000003";
const CAT = "200000000000000004";
const U = "400000000000000001";
const defaults: TriggerOptions = DiscordSectionSchema.parse({});
const opts = (over: Partial<TriggerOptions> = {}): TriggerOptions => ({ ...defaults, ...over, access: { ...defaults.access, ...over.access } });

function msg(over: Partial<MessageFacts> = {}): MessageFacts {
  return { guildId: G, channelId: C, categoryId: CAT, isThread: false, userId: U, roleIds: [], authorIsBot: false, system: false, content: `<@${BOT.id}> hi`, repliesToBot: false, ...over };
}

describe("decideMessage", () => {
  test("a mention is answered in the channel's shared conversation, the mention stripped", () => {
    assert.deepEqual(decideMessage(msg(), BOT, opts()), {
      answer: true,
      via: "mention",
      conversation: { key: `discord:${G}:${C}`, kind: "shared" },
      text: "hi",
      newThread: false,
    });
  });

  test("the legacy <@!id> form and the bot's managed role count as mentions", () => {
    const legacy = decideMessage(msg({ content: `hey <@!${BOT.id}> what's up` }), BOT, opts());
    assert.equal(legacy.answer && legacy.text, "hey what's up");
    const role = decideMessage(msg({ content: `<@&${BOT.roleId}> ping` }), BOT, opts());
    assert.equal(role.answer && role.via, "mention");
  });

  test("a plain message without a mention is not answered", () => {
    assert.deepEqual(decideMessage(msg({ content: "hello everyone" }), BOT, opts()), { answer: false, reason: "not_addressed" });
    const other = decideMessage(msg({ content: `<@${U}> hi` }), BOT, opts());
    assert.equal(other.answer, false);
  });

  test("a reply to the bot continues without a mention", () => {
    const d = decideMessage(msg({ content: "and then?", repliesToBot: true }), BOT, opts());
    assert.equal(d.answer && d.via, "reply");
  });

  test("DMs: open by default, allowlist by user id, off", () => {
    const dm = msg({ guildId: undefined, channelId: "500000000000000001", categoryId: undefined, content: "hello" });
    const d = decideMessage(dm, BOT, opts());
    assert.deepEqual(d.answer && d.conversation, { key: "discord:dm:500000000000000001", kind: "direct" });
    assert.equal(decideMessage(dm, BOT, opts({ dmPolicy: "off" })).answer, false);
    assert.deepEqual(decideMessage(dm, BOT, opts({ dmPolicy: "allowlist" })), { answer: false, reason: "denied" });
    assert.equal(decideMessage(dm, BOT, opts({ dmPolicy: "allowlist", access: { ...defaults.access, userIds: [U] } })).answer, true);
  });

  test("threads: keyed by guild + parent + thread; answered once the bot has answered there", () => {
    const inThread = msg({ channelId: T, parentId: C, isThread: true, content: "more please" });
    assert.equal(decideMessage(inThread, BOT, opts()).answer, false);
    const d = decideMessage(inThread, BOT, opts(), {}, true);
    assert.equal(d.answer && d.via, "thread");
    assert.equal(d.answer && d.conversation.key, `discord:${G}:${C}:${T}`);
  });

  test("answerWithoutMention channels (or their threads) answer every message", () => {
    const d = decideMessage(msg({ content: "question" }), BOT, opts({ answerWithoutMention: [C] }));
    assert.equal(d.answer && d.via, "channel");
    const t = decideMessage(msg({ channelId: T, parentId: C, isThread: true, content: "q" }), BOT, opts({ answerWithoutMention: [C] }));
    assert.equal(t.answer, true);
  });

  test("never the bot itself, other bots (unless allowed), or system messages", () => {
    assert.equal(decideMessage(msg({ userId: BOT.id }), BOT, opts()).answer, false);
    assert.deepEqual(decideMessage(msg({ authorIsBot: true }), BOT, opts()), { answer: false, reason: "bot" });
    assert.equal(decideMessage(msg({ authorIsBot: true }), BOT, opts({ ignoreBots: false })).answer, true);
    assert.deepEqual(decideMessage(msg({ system: true }), BOT, opts()), { answer: false, reason: "system" });
  });

  test("never an empty prompt; a bare mention gets a hint, missing content (no intent) nothing", () => {
    assert.deepEqual(decideMessage(msg({ content: `<@${BOT.id}>` }), BOT, opts()), { answer: false, reason: "empty", hint: true });
    assert.deepEqual(decideMessage(msg({ content: "", repliesToBot: true }), BOT, opts()), { answer: false, reason: "empty", hint: false });
    assert.deepEqual(decideMessage(msg({ content: "", guildId: undefined }), BOT, opts()), { answer: false, reason: "empty", hint: false });
  });

  test("autoThread: channel messages start a thread, thread messages don't, DMs don't", () => {
    const o = opts({ autoThread: true });
    assert.equal((decideMessage(msg(), BOT, o) as { newThread: boolean }).newThread, true);
    assert.equal((decideMessage(msg({ channelId: T, parentId: C, isThread: true }), BOT, o) as { newThread: boolean }).newThread, false);
    assert.equal((decideMessage(msg({ guildId: undefined, content: "x" }), BOT, o) as { newThread: boolean }).newThread, false);
  });
});

describe("isAllowed", () => {
  const place = { guildId: G, channelId: T, parentId: C, categoryId: CAT, isThread: true, userId: U, roleIds: ["600000000000000001"] };
  const access = (a: Partial<TriggerOptions["access"]>) => ({ dmPolicy: "open" as const, access: { ...defaults.access, ...a } });

  test("empty lists allow everything", () => assert.equal(isAllowed(place, access({})), true));
  test("guild ids", () => {
    assert.equal(isAllowed(place, access({ guildIds: [G] })), true);
    assert.equal(isAllowed(place, access({ guildIds: ["200000000000000099"] })), false);
  });
  test("channel ids match the channel, the thread's parent or the category", () => {
    for (const id of [T, C, CAT]) assert.equal(isAllowed(place, access({ channelIds: [id] })), true, id);
    assert.equal(isAllowed(place, access({ channelIds: ["200000000000000099"] })), false);
  });
  test("users or roles", () => {
    assert.equal(isAllowed(place, access({ roleIds: ["600000000000000001"] })), true);
    assert.equal(isAllowed(place, access({ roleIds: ["600000000000000002"] })), false);
    assert.equal(isAllowed(place, access({ roleIds: ["600000000000000002"], userIds: [U] })), true);
    assert.equal(isAllowed(place, access({ userIds: ["400000000000000099"] })), false);
  });
});

describe("promptText", () => {
  const bot = { id: "1" };
  const cases: Array<[string, string]> = [
    ["<@1> hello", "hello"],
    ["<@!1> hello", "hello"],
    ["hello <@1>", "hello"],
    ["hello <@1> world", "hello world"],
    ["hello<@1>world", "hello world"],
    ["<@1>, what is 2+2?", "what is 2+2?"],
    ["<@1>: help", "help"],
    ["a <@1> <@!1> b", "a b"],
    ["line one <@1>\nline  two", "line one\nline  two"],
    ["<@1>\n```js\nx  =  1\n```", "```js\nx  =  1\n```"],
    ["ask <@2> and <@&3> in <#4>", "ask @Alice and @Ops in #general"],
    ["unknown <@9>", "unknown <@9>"],
    ["<@1>", ""],
    ["<@10> is someone else", "<@10> is someone else"],
  ];
  for (const [input, expected] of cases) {
    test(JSON.stringify(input), () => {
      const names = { users: new Map([["2", "Alice"]]), roles: new Map([["3", "Ops"]]), channels: new Map([["4", "general"]]) };
      assert.equal(promptText(input, bot, names), expected);
    });
  }
});

describe("conversationOf", () => {
  test("channel, thread, DM", () => {
    assert.deepEqual(conversationOf({ guildId: "g", channelId: "c", isThread: false }), { key: "discord:g:c", kind: "shared" });
    assert.deepEqual(conversationOf({ guildId: "g", channelId: "t", parentId: "c", isThread: true }), { key: "discord:g:c:t", kind: "shared" });
    assert.deepEqual(conversationOf({ channelId: "d", isThread: false }), { key: "discord:dm:d", kind: "direct" });
  });
});
