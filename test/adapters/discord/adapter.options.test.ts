/**
 * Adapter options through the real stack: autoThread, answerWithoutMention, allowlists, DM policy, the
 * MessageContent intent turned off, and start-up failures (bad token, disallowed intent).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GatewayIntentBits } from "discord.js";
import { createDiscordAdapter } from "../../../src/adapters/discord/DiscordAdapter.js";
import { DiscordSectionSchema } from "../../../src/adapters/discord/config.js";
import { isGlmbotError } from "../../../src/core/errors.js";
import { FakeDiscord } from "../../fixtures/fakeDiscord/FakeDiscord.js";
import { disposeEngines, recordingLogger, scriptedEngine, startStack, type Stack } from "./harness.js";

const REPLY = "Answered in a thread.";

describe("Discord adapter: options", { timeout: 180_000 }, () => {
  let s: Stack;
  before(async () => {
    s = await startStack({
      engine: await scriptedEngine({ reply: REPLY }),
      discord: { autoThread: true, messageContentIntent: false, dmPolicy: "off", editIntervalMs: 50 },
    });
  });
  after(async () => {
    await s?.stop();
  });

  test("without MessageContent: identifies without the privileged intent and says what that means", () => {
    assert.equal(s.fake.gateway.identifies[0].intents, GatewayIntentBits.Guilds | GatewayIntentBits.GuildMessages | GatewayIntentBits.DirectMessages);
    assert.ok(s.logger.lines.some((l) => /MessageContent is OFF/u.test(l.msg)));
  });

  test("autoThread: a channel mention is answered in a new thread, which then continues without a mention", async () => {
    const { fake } = s;
    const asked = fake.say(`<@${fake.bot.id}> Why is the sky blue?\nDetails please`);
    assert.equal((await s.done(asked)).result, "delivered");
    const start = fake.callsWhere((c) => c.method === "POST" && c.path === `/channels/${fake.ids.general}/messages/${asked}/threads`);
    assert.equal(start.length, 1);
    assert.equal(start[0].body.name, "Why is the sky blue?");
    const threadId = asked; // a thread started from a message takes its id
    assert.deepEqual(fake.botMessagesIn(threadId).map((m) => m.content), [REPLY]);
    assert.deepEqual(fake.botMessagesIn(fake.ids.general), [], "the channel stays clean");
    const followUp = fake.say("and at sunset?", { channelId: threadId });
    assert.equal((await s.done(followUp)).result, "delivered");
    const history = await s.manager.history(`discord:${fake.ids.guild}:${fake.ids.general}:${threadId}`);
    assert.deepEqual(history.filter((t) => t.role === "user").map((t) => t.text), ["Why is the sky blue?\nDetails please", "and at sunset?"]);
  });

  test("dmPolicy off: DMs are ignored", async () => {
    const id = s.fake.say("hello?", { dm: true });
    assert.equal((await s.ignored(id)).reason, "dm_off");
  });
});

describe("Discord adapter: allowlists and answerWithoutMention", { timeout: 120_000 }, () => {
  test("a channel in answerWithoutMention answers every message; users outside the allowlist are ignored", async () => {
    // Ids are fixed per fake instance, so configure the allowlist after reading them from a fake.
    const fake = await FakeDiscord.start();
    const engine = await scriptedEngine({ reply: REPLY });
    const s = await startStack({ engine, fake, discord: { answerWithoutMention: [fake.ids.other], access: { guildIds: [], channelIds: [], roleIds: [fake.ids.adminRole], userIds: [fake.users.alice.id] }, editIntervalMs: 50 } });
    try {
      const plain = fake.say("no mention needed here", { channelId: fake.ids.other });
      assert.equal((await s.done(plain)).result, "delivered");
      const admin = fake.say(`<@${fake.bot.id}> admins may ask`, { author: fake.users.admin });
      assert.equal((await s.done(admin)).result, "delivered", "allowed by role");
      const bob = fake.say(`<@${fake.bot.id}> may I?`, { author: fake.users.bob });
      assert.equal((await s.ignored(bob)).reason, "denied");
      const slash = fake.slash("status", { user: fake.users.bob });
      const refusal = await fake.waitForCall((c) => c.path.startsWith(`/interactions/${slash}/`), "slash refusal");
      assert.deepEqual([refusal.body.type, refusal.body.data.flags], [4, 64]);
    } finally {
      await s.stop();
      await disposeEngines();
    }
  });
});

describe("Discord adapter: start-up failures", { timeout: 60_000 }, () => {
  const service = { submit: async () => { throw new Error("unused"); }, command: async () => "", history: async () => [], reset: async () => undefined };

  test("a refused token rejects start() with config_invalid naming DISCORD_TOKEN", async () => {
    const fake = await FakeDiscord.start();
    fake.inject({ when: (c) => c.path === "/gateway/bot", status: 401, body: { message: "401: Unauthorized", code: 0 } });
    const adapter = createDiscordAdapter({ options: { ...DiscordSectionSchema.parse({ apiBase: fake.apiBase }), token: "bad" }, service, logger: recordingLogger() });
    await assert.rejects(adapter.start(), (err) => isGlmbotError(err, "config_invalid") && /DISCORD_TOKEN/u.test(err.message));
    await adapter.stop();
    await fake.close();
  });

  test("a disallowed MessageContent intent (close 4014) rejects start() with how to fix it", async () => {
    const fake = await FakeDiscord.start();
    fake.gateway.refuseIdentify = 4014;
    const adapter = createDiscordAdapter({ options: { ...DiscordSectionSchema.parse({ apiBase: fake.apiBase }), token: "t" }, service, logger: recordingLogger() });
    await assert.rejects(adapter.start(), (err) => isGlmbotError(err, "config_invalid") && /Privileged Gateway Intents/u.test(err.message));
    await adapter.stop();
    await fake.close();
  });
});
