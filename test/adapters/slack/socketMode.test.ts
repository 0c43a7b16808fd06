/**
 * Socket Mode: the real Bolt SocketModeReceiver connects to the fake (apps.connections.open at
 * SLACK_API_URL with the app-level token, then plain ws:// on loopback), acks every envelope, and a re-sent
 * envelope (`retry_attempt`) or a restart does not produce a second reply. Scripted LlamaEngine.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { LlamaEngine } from "../../../src/inference/LlamaEngine.js";
import { appMention, eventCallback } from "../../fixtures/fakeSlack/events.js";
import { openEngine } from "../../inference/helpers.js";
import { shownText, startHarness, type Harness } from "./harness.js";

const REPLY = "Hello **world**! See [the docs](https://example.com/docs) and `npm test`.";

let engine: LlamaEngine;
let h: Harness;

before(async () => {
  engine = await openEngine({ flavor: "glm4", reply: REPLY }, { sequences: 1, contextSize: 512 });
  h = await startHarness({ engine, mode: "socket" });
});

after(async () => {
  await h?.close();
  await engine?.dispose();
});

const mentionEnvelope = (ts: string, eventId: string) => eventCallback(appMention({ text: "<@UBOT> hello over the socket", ts }), { eventId });

test("connects with the app token through SLACK_API_URL and answers a mention in its thread", async () => {
  const open = h.fake.callsTo("apps.connections.open");
  assert.equal(open.length, 1);
  assert.equal(open[0].token, "xapp-test-token");
  assert.equal(h.fake.socket.open, 1);
  assert.equal(h.adapter.eventsUrl, undefined, "no HTTP listener in Socket Mode");

  const envelope = h.fake.socket.send({ type: "events_api", payload: mentionEnvelope("3000.0001", "EvS1") });
  await h.fake.waitFor(() => h.fake.socket.acked(envelope) === 1, "the ack");
  const [reply] = await h.waitForReply("C1", "3000.0001", (m) => shownText(m[0]).includes("<https://example.com/docs|the docs>"));
  assert.equal(reply.threadTs, "3000.0001");
  assert.equal(h.fake.callsTo("chat.postMessage").every((c) => c.token === "xoxb-test-token"), true);
});

test("a re-sent envelope (retry_attempt) is acked but not answered twice", async () => {
  const payload = mentionEnvelope("3001.0001", "EvS2");
  const first = h.fake.socket.send({ type: "events_api", payload });
  await h.waitForReply("C1", "3001.0001", (m) => shownText(m[0]).includes("the docs"));
  const ignored = h.logs.filter((l) => l.msg === "duplicate Slack delivery ignored").length;
  const again = h.fake.socket.send({ type: "events_api", payload, retryAttempt: 1, retryReason: "timeout", envelopeId: first });
  const third = h.fake.socket.send({ type: "events_api", payload, retryAttempt: 2, retryReason: "timeout" });
  await h.waitForLog("duplicate Slack delivery ignored", ignored + 2);
  // the original and the re-send share an envelope id: both acked
  await h.fake.waitFor(() => h.fake.socket.acked(again) === 2 && h.fake.socket.acked(third) === 1, "acks of the re-sends");
  assert.equal(h.fake.thread("C1", "3001.0001").length, 1);
  assert.equal((await h.history("slack:T1:C1:3001.0001", 2)).length, 2);
});

test("after a restart, a late re-send of an answered event is still not answered (keyv on SQLite)", async () => {
  await h.restart();
  assert.equal(h.fake.callsTo("apps.connections.open").length, 2);
  await h.fake.waitFor(() => h.fake.socket.open === 1, "one connection after the restart");
  const posts = h.fake.callsTo("chat.postMessage").length;
  const envelope = h.fake.socket.send({ type: "events_api", payload: mentionEnvelope("3001.0001", "EvS2"), retryAttempt: 3, retryReason: "timeout" });
  await h.fake.waitFor(() => h.fake.socket.acked(envelope) === 1, "the ack");
  await h.waitForLog("duplicate Slack delivery ignored", 1);
  assert.equal(h.fake.callsTo("chat.postMessage").length, posts);
  // and the new connection still answers new messages
  h.fake.socket.send({ type: "events_api", payload: mentionEnvelope("3002.0001", "EvS3") });
  await h.waitForReply("C1", "3002.0001", (m) => shownText(m[0]).includes("the docs"));
});

test("the slash command works over the socket (acked, answered through response_url)", async () => {
  const envelope = h.fake.socket.send({
    type: "slash_commands",
    payload: { command: "/glm", text: "help", user_id: "UALICE", channel_id: "D1", team_id: "T1", response_url: h.fake.responseUrl("sock-help"), trigger_id: "t1", api_app_id: "A1" },
  });
  await h.fake.waitFor(() => h.fake.socket.acked(envelope) === 1 && h.fake.responses.some((r) => r.id === "sock-help"), "ack and answer");
  assert.match(String(h.fake.responses.find((r) => r.id === "sock-help")!.body.text), /^Commands:/);
});

test("stop() closes the WebSocket", async () => {
  await h.adapter.stop();
  await h.fake.waitFor(() => h.fake.socket.open === 0, "the socket to close");
});
