/**
 * End to end through the composition root: the real `glmbot serve` process with DISCORD_* and SLACK_* set,
 * its real discord.js and Bolt clients pointed at the fake Discord and the fake Slack (Socket Mode) on
 * 127.0.0.1, answering from a generated scripted model. Proves the wiring in src/main.ts, not the adapters'
 * details (those are in test/adapters/).
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { FakeDiscord } from "../fixtures/fakeDiscord/FakeDiscord.js";
import { appMention, eventCallback } from "../fixtures/fakeSlack/events.js";
import { FakeSlack } from "../fixtures/fakeSlack/FakeSlack.js";
import { testModelPath } from "../fixtures/testModels.js";
import { startService, type ServiceProcess } from "./serviceProcess.js";

const REPLY = "Deployed on our own GPU.";
const DISCORD_TOKEN = "fake-discord-bot-token-e2e";
const SLACK_BOT_TOKEN = "xoxb-test-token";
const SLACK_APP_TOKEN = "xapp-test-token";

let discord: FakeDiscord;
let slack: FakeSlack;
let service: ServiceProcess;

async function until(predicate: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${service?.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  discord = await FakeDiscord.start();
  slack = await FakeSlack.start();
  service = await startService({
    GLMBOT_MODEL: await testModelPath({ flavor: "chatglm3", reply: REPLY }),
    GLMBOT_DATA_DIR: mkdtempSync(path.join(tmpdir(), "glmbot-e2e-chat-")),
    DISCORD_TOKEN,
    DISCORD_API_BASE: discord.apiBase,
    SLACK_BOT_TOKEN,
    SLACK_APP_TOKEN,
    SLACK_API_URL: slack.apiUrl,
  });
});

after(async () => {
  if (service && service.child.exitCode === null) await service.stop();
  await discord?.close();
  await slack?.close();
});

test("a Discord @mention is answered by the served model", async () => {
  const asked = discord.say(`<@${discord.bot.id}> where do you run?`);
  await until(() => discord.repliesTo(asked).some((m) => m.content === REPLY && (m.components ?? []).length === 0), "the Discord reply");
  assert.equal(discord.repliesTo(asked).length, 1);
});

test("a Slack app_mention over Socket Mode is answered in its thread", async () => {
  slack.socket.send({ type: "events_api", payload: eventCallback(appMention({ text: "<@UBOT> where do you run?", ts: "5000.0001" }), { eventId: "EvE2E1" }) });
  const shown = (m: { text: string; blocks?: Array<{ type?: string; text?: { text: string } }> }) =>
    (m.blocks ?? []).filter((b) => b.type === "section").map((b) => b.text!.text).join("\n") || m.text;
  await until(() => slack.thread("C1", "5000.0001").some((m) => shown(m).includes(REPLY) && !shown(m).includes("⏳")), "the Slack reply");
  assert.equal(slack.thread("C1", "5000.0001").length, 1);
});

test("SIGTERM disconnects both chat clients and exits 0; no token appears in the logs", async () => {
  assert.equal(await service.stop(), 0);
  const out = service.output();
  for (const secret of [DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN]) assert.ok(!out.includes(secret), `a token leaked into the logs`);
});
