/**
 * Reply delivery with the real Bolt app and the real ConversationManager, over core's faithful FakeEngine
 * (test/core/FakeEngine.ts: implements the InferenceEngine port and streams a given text piece by piece).
 * A scripted GGUF model cannot produce a 9,000-character reply cheaply (every piece must be its own
 * vocabulary token), so these length/limit/failure tests use it; http.test.ts covers the real engine.
 */
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { FakeEngine } from "../../core/FakeEngine.js";
import { BLOCKS_LIMIT, blocksTextLength, SECTION_LIMIT, UPDATE_TEXT_LIMIT } from "../../fixtures/fakeSlack/webApi.js";
import { appMention } from "../../fixtures/fakeSlack/events.js";
import { hasStop, shownText, startHarness, type Harness } from "./harness.js";

const engine = new FakeEngine({ contextSize: 32_768, sequences: 1 });
let h: Harness;

before(async () => {
  h = await startHarness({ engine, maxTokens: 16_000, contextSize: 32_768 });
});
after(async () => h?.close());
beforeEach(() => {
  engine.replies.length = 0;
});

let tsSeq = 4000;
const ask = async (text = "<@UBOT> go") => {
  const ts = `${++tsSeq}.0001`;
  await h.sendEvent(appMention({ text, ts }));
  return ts;
};

function longMarkdown(): { markdown: string; codeLines: string[] } {
  const codeLines = Array.from({ length: 150 }, (_, i) => `    result_${i} = transform(items[${i}]) if items[${i}] > 0 and flags & MASK_${i} else None  # keep <${i}>`);
  const para = (i: number) => `Paragraph ${i}: this section explains **step ${i}** of the migration, with [reference ${i}](https://example.com/ref/${i}) and \`config_${i}\`.`;
  const markdown = [
    "# Migration guide",
    ...Array.from({ length: 20 }, (_, i) => para(i)),
    "```python",
    "def migrate(items):",
    ...codeLines,
    "    return items",
    "```",
    ...Array.from({ length: 12 }, (_, i) => para(100 + i)),
    "That is all.",
  ].join("\n\n");
  return { markdown, codeLines };
}

test("a 9,000+ character Markdown reply with a large code block arrives complete, every message within Slack's limits", async () => {
  const { markdown, codeLines } = longMarkdown();
  assert.ok(markdown.length > 9000, `reply is ${markdown.length} characters`);
  engine.replies.push(markdown);
  const ts = await ask();
  const messages = await h.waitForReply("C1", ts, (m) => shownText(m.at(-1)!).includes("That is all."));
  assert.ok(messages.length >= 4, `${messages.length} messages`);
  for (const m of messages) {
    const text = shownText(m);
    assert.ok(text.length <= SECTION_LIMIT, `section of ${text.length}`);
    assert.equal(m.text, text, "plain text fallback equals the section");
    assert.ok(blocksTextLength(m.blocks ?? []) <= BLOCKS_LIMIT);
    assert.equal((text.match(/```/g) ?? []).length % 2, 0, "code fences balanced in each message");
  }
  const all = messages.map(shownText).join("\n");
  for (const line of codeLines) {
    const escaped = line.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
    assert.ok(all.includes(escaped), `code line missing: ${line}`);
  }
  for (const i of [0, 7, 19, 100, 111]) {
    assert.ok(all.includes(`Paragraph ${i}: this section explains \u200b*step ${i}*\u200b`), `paragraph ${i}`);
    assert.ok(all.includes(`<https://example.com/ref/${i}|reference ${i}>`), `link ${i}`);
  }
  // no call was refused: chat.update never exceeded ~4,000 characters, blocks never invalid
  for (const call of h.fake.calls) assert.notEqual(call.response.ok, false, `${call.method}: ${call.response.error}`);
  for (const call of h.fake.callsTo("chat.update")) assert.ok(String(call.args.text).length <= UPDATE_TEXT_LIMIT);
  const stored = await h.history(`slack:T1:C1:${ts}`, 2);
  assert.equal(stored[1].text, markdown);
  assert.deepEqual(stored[1].platformMessageIds, messages.map((m) => m.ts));
});

test("a 429 on chat.update is waited out (Retry-After) and the final text still arrives", async () => {
  engine.replies.push({ manual: true });
  const ts = await ask();
  const call = await engine.waitForCalls(engine.calls.length + 1);
  await h.fake.waitFor(() => h.fake.thread("C1", ts).length === 1, "the placeholder");
  h.fake.fail("chat.update", { retryAfter: 1 });
  call.emit("First part, ");
  await h.fake.waitFor(() => h.fake.callsTo("chat.update").some((c) => c.response.status === 429), "the 429");
  call.emit("second part.");
  call.finish();
  const [reply] = await h.waitForReply("C1", ts, (m) => shownText(m[0]) === "First part, second part.");
  const updates = h.fake.callsTo("chat.update").filter((c) => c.args.ts === reply.ts);
  const limited = updates.findIndex((c) => c.response.status === 429);
  assert.ok(limited >= 0 && updates.slice(limited + 1).some((c) => c.response.ok === true), "updated again after the wait");
  // the retry came no sooner than Retry-After (1 s) after the 429'd call, by the fake's arrival times
  const retried = updates[limited + 1];
  assert.ok(retried.at - updates[limited].at >= 1000, `retried ${retried.at - updates[limited].at} ms after the 429`);
  // and the reply's updates were never closer together than updateIntervalMs
  for (let i = 1; i < updates.length; i++) {
    const gap = updates[i].at - updates[i - 1].at;
    assert.ok(gap >= h.options.updateIntervalMs, `chat.update #${i} came ${gap} ms after the previous one (interval ${h.options.updateIntervalMs} ms)`);
  }
  assert.equal(h.fake.thread("C1", ts).length, 1);
});

test("a failed chat.update is logged with the job id core gave the message (and its conversation key)", async () => {
  const ids: string[] = [];
  const submit = h.manager.submit.bind(h.manager);
  h.manager.submit = async (...args: Parameters<typeof submit>) => {
    const handle = await submit(...args);
    ids.push(handle.id);
    return handle;
  };
  try {
    engine.replies.push({ manual: true });
    const ts = await ask();
    const call = await engine.waitForCalls(engine.calls.length + 1);
    await h.fake.waitFor(() => h.fake.thread("C1", ts).length === 1, "the placeholder");
    assert.equal(ids.length, 1, "submitted once");
    const before = h.logs.filter((l) => l.msg === "Slack reply update failed").length;
    h.fake.fail("chat.update", { error: "internal_error" });
    call.emit("Partly ");
    await h.waitForLog("Slack reply update failed", before + 1);
    call.emit("done.");
    call.finish();
    await h.waitForReply("C1", ts, (m) => shownText(m[0]) === "Partly done.");
    const line = h.logs.filter((l) => l.msg === "Slack reply update failed").at(-1)!;
    assert.equal(line.obj.jobId, ids[0]);
    assert.equal(line.obj.key, `slack:T1:C1:${ts}`);
    assert.equal(line.obj.messageTs, ts);
    // every adapter line about this message written after submit carries the same job id
    const mine = h.logs.filter((l) => l.obj.messageTs === ts);
    const submitted = mine.findIndex((l) => l.msg === "Slack message submitted");
    assert.ok(submitted >= 0);
    for (const l of mine.slice(submitted)) assert.equal(l.obj.jobId, ids[0], `"${l.msg}" carries the job id`);
  } finally {
    delete (h.manager as { submit?: unknown }).submit;
  }
});

test("a 429 on chat.postMessage is retried once it has passed: one message, never two", async () => {
  h.fake.fail("chat.postMessage", { retryAfter: 1 });
  engine.replies.push("Short answer.");
  const ts = await ask();
  const [reply] = await h.waitForReply("C1", ts, (m) => shownText(m[0]) === "Short answer.");
  assert.equal(h.fake.thread("C1", ts).length, 1);
  assert.equal(reply.text, "Short answer.");
});

test("a post that fails without an answer (HTTP 500) is looked up, never blindly repeated", async () => {
  // (a) Slack did post it: the message is found (conversations.replies) and used; one message
  h.fake.fail("chat.postMessage", { status: 500 });
  engine.replies.push("Answer A.");
  const a = await ask();
  await h.waitForReply("C1", a, (m) => shownText(m[0]) === "Answer A.");
  assert.equal(h.fake.thread("C1", a).length, 1);
  assert.equal(h.fake.callsTo("chat.postMessage").filter((c) => c.args.thread_ts === a).length, 1);
  assert.ok(h.fake.callsTo("conversations.replies").some((c) => c.args.ts === a));
  assert.equal((await h.history(`slack:T1:C1:${a}`, 2))[1].text, "Answer A.");
  // (b) it never arrived: not found, so it is posted once more; still one message
  h.fake.fail("chat.postMessage", { status: 500, lost: true });
  engine.replies.push("Answer B.");
  const b = await ask();
  await h.waitForReply("C1", b, (m) => shownText(m[0]) === "Answer B.");
  assert.equal(h.fake.thread("C1", b).length, 1);
  assert.equal(h.fake.callsTo("chat.postMessage").filter((c) => c.args.thread_ts === b).length, 2);
});

test("when an unanswered post cannot be checked either, nothing is posted again and nothing is stored", async () => {
  h.fake.fail("chat.postMessage", { status: 500 });
  h.fake.fail("conversations.replies", { status: 500, lost: true });
  engine.replies.push("Lost answer.");
  const ts = await ask();
  await h.fake.waitFor(() => h.fake.callsTo("conversations.replies").some((c) => c.args.ts === ts), "the lookup");
  await h.waitForLog("Slack reply update failed", 1);
  assert.equal(h.fake.callsTo("chat.postMessage").filter((c) => c.args.thread_ts === ts).length, 1);
  assert.deepEqual(await h.manager.history(`slack:T1:C1:${ts}`), []);
  engine.replies.push("Next answer.");
  const next = await ask();
  await h.waitForReply("C1", next, (m) => shownText(m[0]) === "Next answer.");
});

test("a failed generation tells the user in the thread; the next message is answered", async () => {
  engine.replies.push({ fail: "boom" });
  const ts = await ask();
  const [notice] = await h.waitForReply("C1", ts, (m) => /failed to generate/.test(shownText(m[0])));
  assert.equal(hasStop(notice), false);
  assert.deepEqual(await h.manager.history(`slack:T1:C1:${ts}`), []);
  engine.replies.push("Recovered.");
  await h.sendEvent(appMention({ text: "<@UBOT> again", ts: `${ts}1`, thread_ts: ts }));
  await h.waitForReply("C1", ts, (m) => m.length === 2 && shownText(m[1]) === "Recovered.");
});

test("while waiting in the queue the message shows its position; then the answer replaces it", async () => {
  engine.replies.push({ manual: true }, "Second answer.");
  const first = await ask();
  const running = await engine.waitForCalls(engine.calls.length + 1);
  const second = await ask("<@UBOT> me too");
  await h.fake.waitFor(() => h.fake.thread("C1", second).some((m) => shownText(m) === "⏳ #1 in queue" && hasStop(m)), "the queue position");
  running.emit("First answer.");
  running.finish();
  await h.waitForReply("C1", first, (m) => shownText(m[0]) === "First answer.");
  await h.waitForReply("C1", second, (m) => shownText(m[0]) === "Second answer.");
});
