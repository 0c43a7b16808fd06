/**
 * `streaming: native`: Slack's chat streaming through the SDK's chatStream helper (chat.startStream /
 * appendStream / stopStream), the thinking status, the Stop button for the asker, long replies continued in
 * thread messages, and the fallback to chat.update when the app lacks the feature. Core's FakeEngine.
 */
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { STREAM_MAX_CHARS } from "../../../src/adapters/slack/NativeStreamSink.js";
import { FakeEngine } from "../../core/FakeEngine.js";
import { appMention, blockAction, directMessage, interactiveForm, sendSigned } from "../../fixtures/fakeSlack/events.js";
import { SECTION_LIMIT } from "../../fixtures/fakeSlack/webApi.js";
import { shownText, SIGNING_SECRET, startHarness, type Harness } from "./harness.js";

const engine = new FakeEngine({ contextSize: 32_768, sequences: 1 });
let h: Harness;

before(async () => {
  h = await startHarness({ engine, maxTokens: 16_000, contextSize: 32_768, slack: { streaming: "native" } });
});
after(async () => h?.close());
beforeEach(() => {
  engine.replies.length = 0;
});

let tsSeq = 5000;
const ask = async (text = "<@UBOT> stream please") => {
  const ts = `${++tsSeq}.0001`;
  await h.sendEvent(appMention({ text, ts }));
  return ts;
};
const streamIn = (ts: string) => [...h.fake.messages.values()].find((m) => m.threadTs === ts && m.streamed !== undefined);

test("a reply streams natively with status, Stop for the asker, and standard Markdown", async () => {
  const reply = "Here is **bold** text and a [link](https://example.com).\n\n```js\nconst a = 1 < 2;\n```";
  engine.replies.push(reply);
  const ts = await ask();
  await h.fake.waitFor(() => streamIn(ts)?.streaming === false, "the stream to stop");
  const stream = streamIn(ts)!;
  assert.equal(stream.text, reply, "streamed as Markdown, in order, once");
  const start = h.fake.callsTo("chat.startStream").find((c) => c.args.thread_ts === ts)!;
  assert.equal(start.args.recipient_user_id, "UALICE");
  assert.equal(start.args.recipient_team_id, "T1");
  const statuses = h.fake.callsTo("assistant.threads.setStatus").filter((c) => c.args.thread_ts === ts).map((c) => c.args.status);
  assert.equal(statuses[0], "is thinking…");
  await h.fake.waitFor(() => h.fake.callsTo("assistant.threads.setStatus").some((c) => c.args.thread_ts === ts && c.args.status === ""), "status cleared");
  const stop = h.fake.callsTo("chat.postEphemeral").find((c) => c.args.thread_ts === ts)!;
  assert.equal(stop.args.user, "UALICE");
  assert.ok(stop.args.blocks.some((b: { type: string }) => b.type === "actions"));
  const history = await h.history(`slack:T1:C1:${ts}`, 2);
  assert.deepEqual(history[1].platformMessageIds, [stream.ts]);
  assert.equal(h.fake.callsTo("chat.postMessage").filter((c) => c.args.thread_ts === ts).length, 0);
});

test("Stop (ephemeral button) ends a streaming reply", async () => {
  engine.replies.push({ hang: true, partial: "Thinking out loud" });
  const ts = await ask();
  await h.fake.waitFor(() => (streamIn(ts)?.streamed ?? "").startsWith("Thinking out loud") && h.fake.callsTo("chat.postEphemeral").some((c) => c.args.thread_ts === ts), "streaming + button");
  const value = h.fake.callsTo("chat.postEphemeral").find((c) => c.args.thread_ts === ts)!.args.blocks.find((b: { type: string }) => b.type === "actions").elements[0].value;
  const form = interactiveForm(blockAction({ actionId: "glmbot_stop", value, user: "UALICE", messageTs: ts, threadTs: ts, responseUrl: h.fake.responseUrl("n-stop") }));
  assert.equal((await sendSigned(h.adapter.eventsUrl!, form, { secret: SIGNING_SECRET, form: true })).status, 200);
  await h.fake.waitFor(() => streamIn(ts)?.streaming === false, "the stream to stop");
  assert.equal(streamIn(ts)!.text, "Thinking out loud\n\n⏹️ (stopped)");
});

test(`a reply longer than one stream message (${STREAM_MAX_CHARS} characters) continues in thread messages`, async () => {
  const lines = Array.from({ length: 400 }, (_, i) => `Line ${i}: some streamed words to fill the message, with **bold ${i}**.`);
  const reply = lines.join("\n");
  assert.ok(reply.length > STREAM_MAX_CHARS + 3000);
  engine.replies.push(reply);
  const ts = await ask();
  await h.fake.waitFor(() => streamIn(ts)?.streaming === false && h.fake.thread("C1", ts).some((m) => shownText(m).includes("Line 399")), "stream + follow-ups");
  const stream = streamIn(ts)!;
  assert.ok(stream.text.length <= STREAM_MAX_CHARS);
  const followUps = h.fake.thread("C1", ts).filter((m) => m.streamed === undefined);
  assert.ok(followUps.length >= 1);
  for (const m of followUps) assert.ok(shownText(m).length <= SECTION_LIMIT);
  const all = stream.text + followUps.map(shownText).join("\n");
  for (let i = 0; i < 400; i++) assert.ok(all.includes(`Line ${i}: `), `line ${i}`);
  const history = await h.history(`slack:T1:C1:${ts}`, 2);
  assert.equal(history[1].platformMessageIds.length, 1 + followUps.length);
});

test("a DM at top level has no thread to stream in: it uses chat.update", async () => {
  engine.replies.push("Plain DM answer.");
  const startsBefore = h.fake.callsTo("chat.startStream").length;
  await h.sendEvent(directMessage({ text: "hello", ts: `${++tsSeq}.0001` }));
  await h.waitForReply("D1", undefined, (m) => m.some((x) => shownText(x) === "Plain DM answer."));
  assert.equal(h.fake.callsTo("chat.startStream").length, startsBefore);
});

test("without the streaming feature (missing_scope) the reply falls back to chat.update, and later ones don't try again", async () => {
  h.fake.fail("chat.startStream", { error: "missing_scope" });
  engine.replies.push("Fallback answer.", "Second fallback answer.");
  const ts = await ask();
  await h.waitForReply("C1", ts, (m) => shownText(m[0]) === "Fallback answer.");
  const starts = h.fake.callsTo("chat.startStream").length;
  const next = await ask();
  await h.waitForReply("C1", next, (m) => shownText(m[0]) === "Second fallback answer.");
  assert.equal(h.fake.callsTo("chat.startStream").length, starts);
  assert.equal((await h.history(`slack:T1:C1:${ts}`, 2))[1].text, "Fallback answer.");
});
