/**
 * Long and odd replies through the real stack: splitting at Discord's 2000-character limit (4,500 → 3
 * messages; 2000 vs 2001), a 429 on an edit, and empty / whitespace-only model replies.
 * The scripted models produce these exact texts (one vocabulary token per ~20-character word).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FakeDiscord } from "../../fixtures/fakeDiscord/FakeDiscord.js";
import { EMPTY_REPLY_TEXT } from "../../../src/adapters/common/notices.js";
import { SwitchableEngine, disposeEngines, scriptedEngine, startStack, writesOf, type Stack } from "./harness.js";

/** `n` characters of distinct ~20-character words, with a paragraph break every 40 words. */
function longText(n: number, tag: string): string {
  let text = "";
  for (let i = 0; text.length < n; i++) text += (i === 0 ? "" : i % 40 === 0 ? "\n\n" : " ") + `${tag}${i.toString(36).padStart(3, "0")}abcdefghijklmno`;
  return text.slice(0, n);
}

describe("Discord adapter: long replies, rate limits, empty replies", { timeout: 180_000 }, () => {
  let s: Stack;
  let engine: SwitchableEngine;
  const ask = async (reply: string, channelId?: string) => {
    engine.use(await scriptedEngine({ reply }));
    const asked = s.fake.say(`<@${s.fake.bot.id}> tell me everything`, { channelId: channelId ?? s.fake.ids.general });
    const done = await s.done(asked);
    return { asked, done };
  };

  before(async () => {
    engine = new SwitchableEngine(await scriptedEngine({ reply: "warm-up" }));
    s = await startStack({ engine, maxTokens: 1024, discord: { editIntervalMs: 50 } });
  });
  after(async () => {
    await s?.stop();
    await disposeEngines();
  });

  test("a 4,500-character reply arrives as 3 messages of at most 2000 that join back exactly", async () => {
    const reply = longText(4500, "p");
    const { asked, done } = await ask(reply);
    assert.equal(done.result, "delivered");
    const first = s.fake.repliesTo(asked)[0];
    const messages = s.fake.botMessagesIn(s.fake.ids.general).filter((m) => BigInt(m.id) >= BigInt(first.id));
    assert.equal(messages.length, 3);
    for (const m of messages) assert.ok([...m.content].length <= 2000 && m.content.length <= 2000);
    assert.equal(messages.map((m) => m.content).join(""), reply);
    assert.ok(messages[0].content.endsWith("\n\n"), "split at a paragraph break");
    assert.deepEqual(messages.slice(1).map((m) => m.message_reference), [undefined, undefined], "follow-ups are plain messages");
    assert.ok(messages.every((m) => m.components.length === 0), "no button left");
    const refused = s.fake.callsWhere((c) => c.status === 400);
    assert.deepEqual(refused, [], "Discord never refused a message (50035)");
    const history = await s.manager.history(s.generalKey);
    assert.deepEqual(history.at(-1)?.platformMessageIds, messages.map((m) => m.id));
  });

  test("exactly 2000 characters is one message; 2001 is two", async () => {
    const exact = longText(2000, "q");
    const one = await ask(exact, s.fake.ids.other);
    const [message] = s.fake.repliesTo(one.asked);
    assert.equal(message.content, exact);
    assert.equal(s.fake.botMessagesIn(s.fake.ids.other).length, 1);

    const over = longText(2001, "r");
    const two = await ask(over, s.fake.ids.other);
    const first = s.fake.repliesTo(two.asked)[0];
    const parts = s.fake.botMessagesIn(s.fake.ids.other).filter((m) => BigInt(m.id) >= BigInt(first.id));
    assert.equal(parts.length, 2);
    assert.equal(parts.map((m) => m.content).join(""), over);
  });

  test("a 429 on an edit is waited out (retry_after), then the final text arrives", async () => {
    const reply = `Rate limits ahead. ${Array.from({ length: 200 }, (_, i) => `x${i}`).join(" ")}`;
    let limited: { at: number; path: string } | undefined;
    s.fake.inject({
      when: (c) => c.method === "PATCH" && c.path.startsWith(`/channels/${s.fake.ids.general}/messages/`) && !limited && ((limited = { at: c.at, path: c.path }), true),
      ...FakeDiscord.rateLimited(0.3),
    });
    const { asked, done } = await ask(reply);
    assert.equal(done.result, "delivered");
    const [message] = s.fake.repliesTo(asked);
    assert.equal(message.content, reply, "the final edit was not dropped");
    assert.ok(limited, "a 429 was sent");
    const patches = s.fake.callsWhere((c) => c.method === "PATCH" && c.path === limited!.path);
    const after429 = patches.filter((c) => c.at > limited!.at);
    assert.ok(after429.length >= 1);
    assert.ok(after429[0].at - limited.at >= 300, `next edit ${after429[0].at - limited.at} ms after the 429`);
    assert.equal(patches.find((c) => c.at === limited!.at)?.status, 429);
    assert.ok(writesOf(s.fake, message.id).length >= 3);
  });

  test("a message too long for the context window is refused with the limit named", async () => {
    engine.use(await scriptedEngine({ reply: "unused" }));
    const asked = s.fake.say(`<@${s.fake.bot.id}> ${"hello ".repeat(1500)}`);
    const done = await s.done(asked);
    assert.deepEqual([done.result, done.code], ["failed", "input_too_long"]);
    assert.match(s.fake.repliesTo(asked)[0].content, /^📏 .*\d+ tokens; the limit is 1024/u);
  });

  test("a whitespace-only model reply gets the fallback notice", async () => {
    const { asked, done } = await ask("   ");
    assert.equal(done.result, "delivered");
    assert.deepEqual(s.fake.repliesTo(asked).map((m) => m.content), [EMPTY_REPLY_TEXT]);
  });

  test("an empty model reply gets the fallback notice (nothing stored); the next message is answered normally", async () => {
    const empty = await ask("");
    assert.equal(empty.done.result, "failed");
    const [notice] = s.fake.repliesTo(empty.asked);
    assert.equal(notice.content, EMPTY_REPLY_TEXT);
    const next = await ask("Back to normal.");
    assert.equal(s.fake.repliesTo(next.asked)[0].content, "Back to normal.");
  });
});
