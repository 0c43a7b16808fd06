/**
 * The Stop button (Block Kit `block_actions` over HTTP) on a reply from a scripted model that never ends by
 * itself (`endWith: "none"`): only the asker can stop it; stopping aborts generation and the message keeps
 * the partial text with "⏹️ (stopped)".
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { STOP_ACTION_ID } from "../../../src/adapters/slack/blocks.js";
import type { LlamaEngine } from "../../../src/inference/LlamaEngine.js";
import { appMention, blockAction, interactiveForm, sendSigned } from "../../fixtures/fakeSlack/events.js";
import { openEngine } from "../../inference/helpers.js";
import { hasStop, shownText, SIGNING_SECRET, startHarness, type Harness } from "./harness.js";

let engine: LlamaEngine;
let h: Harness;

before(async () => {
  engine = await openEngine({ flavor: "glm4", reply: "Working on it", endWith: "none" }, { sequences: 1, contextSize: 8192 });
  h = await startHarness({ engine, maxTokens: 8000, contextSize: 8192 });
});

after(async () => {
  await h?.close();
  await engine?.dispose();
});

test("Stop aborts generation for the asker only", async () => {
  await h.sendEvent(appMention({ user: "UALICE", text: "<@UBOT> write forever", ts: "2000.0001" }));
  // wait until the reply is streaming (text shown, Stop button present)
  await h.fake.waitFor(() => h.fake.thread("C1", "2000.0001").some((m) => hasStop(m) && shownText(m).startsWith("Working on it")), "a streaming reply");
  const [streaming] = h.fake.thread("C1", "2000.0001");
  const button = streaming.blocks!.find((b: { type: string }) => b.type === "actions").elements[0];
  assert.equal(button.action_id, STOP_ACTION_ID);

  const press = (user: string, id: string) =>
    sendSigned(h.adapter.eventsUrl!, interactiveForm(blockAction({ actionId: STOP_ACTION_ID, value: button.value, user, messageTs: streaming.ts, threadTs: "2000.0001", responseUrl: h.fake.responseUrl(id) })), { secret: SIGNING_SECRET, form: true });

  assert.equal((await press("UBOB", "bob-stop")).status, 200);
  await h.fake.waitFor(() => h.fake.responses.some((r) => r.id === "bob-stop"), "Bob's ephemeral answer");
  assert.match(String(h.fake.responses.find((r) => r.id === "bob-stop")!.body.text), /Only <@UALICE> can stop/);
  assert.ok(hasStop(h.fake.thread("C1", "2000.0001").at(-1)!), "still generating after Bob's press");

  assert.equal((await press("UALICE", "alice-stop")).status, 200);
  const messages = await h.waitForReply("C1", "2000.0001", (m) => shownText(m.at(-1)!).endsWith("(stopped)"));
  assert.ok(shownText(messages[0]).startsWith("Working on it"));
  const history = await h.history("slack:T1:C1:2000.0001", 2);
  assert.equal(history[1].delivery, "partial");
  assert.ok(history[1].text.startsWith("Working on it"));

  // pressing again after the end: told it has finished
  assert.equal((await press("UALICE", "late")).status, 200);
  await h.fake.waitFor(() => h.fake.responses.some((r) => r.id === "late"), "late press answer");
  assert.match(String(h.fake.responses.find((r) => r.id === "late")!.body.text), /already finished/);
});
