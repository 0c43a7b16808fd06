import { test } from "node:test";
import assert from "node:assert/strict";
import { IdempotencyStore } from "../../../src/adapters/webhook/idempotency.js";
import { WebhookSink } from "../../../src/adapters/webhook/sink.js";
import { GlmbotError } from "../../../src/core/errors.js";
import { OTHER_TOKEN, TOKEN, bearer, listen, makeServer, message, postMessage, readSse } from "./helpers.js";

const withKey = (key: string, token = TOKEN) => ({ ...bearer(token), "idempotency-key": key });

test("a retried Idempotency-Key returns the first result with one generation; 409 while running", async () => {
  const { app, service } = makeServer();
  service.hold();
  const started = service.nextStarted();
  const first = postMessage(app, message(), withKey("k-1"));
  await started;
  const during = await postMessage(app, message(), withKey("k-1"));
  assert.equal(during.statusCode, 409);
  assert.equal(during.json().error.code, "idempotency_conflict");
  assert.equal(during.headers["retry-after"], "1");
  service.release();
  const original = await first;
  assert.equal(original.statusCode, 200);
  const replay = await postMessage(app, message(), withKey("k-1"));
  assert.equal(replay.statusCode, 200);
  assert.equal(replay.headers["idempotent-replayed"], "true");
  assert.deepEqual(replay.json(), original.json());
  assert.equal(service.generations, 1);
  await app.close();
});

test("keys are per client; a different body under the same key conflicts; refusals free the key", async () => {
  const { app, service } = makeServer();
  const a = await postMessage(app, message(), withKey("shared"));
  const b = await postMessage(app, message(), withKey("shared", OTHER_TOKEN));
  assert.notEqual(a.json().id, b.json().id);
  assert.equal(service.generations, 2);
  const mismatch = await postMessage(app, message({ text: "something else" }), withKey("shared"));
  assert.equal(mismatch.statusCode, 409);
  assert.equal(mismatch.json().error.reason, "body_mismatch");

  service.refuse = new GlmbotError("queue_full", "busy", { retryAfterSeconds: 1 });
  assert.equal((await postMessage(app, message(), withKey("k-2"))).statusCode, 429);
  service.refuse = undefined;
  const retried = await postMessage(app, message(), withKey("k-2"));
  assert.equal(retried.statusCode, 200);
  assert.equal(service.generations, 3);
  const bad = await postMessage(app, message(), withKey("has space"));
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.field, "Idempotency-Key");
  await app.close();
});

test("a streamed request replays as SSE without running the model again", async () => {
  const { app, service } = makeServer();
  const base = await listen(app);
  try {
    const send = () =>
      fetch(`${base}/v1/messages`, {
        method: "POST",
        headers: { ...withKey("s-1"), "content-type": "application/json" },
        body: JSON.stringify(message({ stream: true })),
      });
    const first = await readSse(await send());
    const second = await readSse(await send());
    assert.deepEqual(first.at(-1), second.at(-1));
    assert.equal(second.filter((e) => e.event === "token").map((e) => (e.data as { text: string }).text).join(""), "Hello, world!");
    assert.equal(service.generations, 1);
  } finally {
    await app.close();
  }
});

test("IdempotencyStore: entries expire after the TTL (injected clock)", () => {
  let now = 1_000_000;
  const store = new IdempotencyStore(600_000, () => now);
  const begun = store.begin("acme", "k", "fp");
  assert.equal(begun.state, "new");
  if (begun.state !== "new") return;
  now += 700_000;
  assert.equal(store.begin("acme", "k", "fp").state, "running", "running entries never expire");
  store.complete(begun.ticket, { status: 200, body: { id: "j" }, headers: {} });
  assert.equal(store.begin("acme", "k", "fp").state, "new", "expired after completion");
  const again = store.begin("acme", "k2", "fp");
  if (again.state !== "new") throw new Error("expected new");
  store.complete(again.ticket, { status: 200, body: { id: "j2" }, headers: {} });
  now += 599_000;
  assert.equal(store.begin("acme", "k2", "fp").state, "done");
  now += 2_000;
  assert.equal(store.begin("acme", "k2", "fp").state, "new");
});

/** POST the standard message over a real socket; the client may abort it (resolves null then). */
function abortablePost(base: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response | null> {
  return fetch(`${base}/v1/messages`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(message()), signal }).catch(() => null);
}

test("a disconnected non-streaming client cancels its job, unless it sent an Idempotency-Key", async () => {
  const { app, service } = makeServer();
  service.hold();
  const base = await listen(app);
  const post = (headers: Record<string, string>, signal: AbortSignal) => abortablePost(base, headers, signal);
  try {
    // Without a key: the job is cancelled.
    const a = new AbortController();
    let started = service.nextStarted();
    const cancelled = service.nextCancelled();
    void post(bearer(), a.signal);
    await started;
    a.abort();
    await cancelled;
    assert.equal(service.cancellations, 1);

    // With a key: the job keeps running; the retry gets its answer.
    const b = new AbortController();
    started = service.nextStarted();
    const finished = service.nextFinished();
    void post(withKey("keep-1"), b.signal);
    await started;
    b.abort();
    service.release();
    await finished;
    const retry = await postMessage(app, message(), withKey("keep-1"));
    assert.equal(retry.statusCode, 200);
    assert.equal(retry.json().reply, "Hello, world!");
    assert.equal(service.cancellations, 1);
    assert.equal(service.generations, 2);
  } finally {
    service.release();
    await app.close();
  }
});

test("a sync client gone after partial text: nothing stored without a key; with a key the answer is stored and replayed", async () => {
  const { app, service } = makeServer();
  service.script = { deltas: ["first", " second"], pauseAt: 1 };
  service.hold();
  const base = await listen(app);
  const post = (headers: Record<string, string>, signal: AbortSignal) => abortablePost(base, headers, signal);
  try {
    // Without a key: cancelled after "first"; the sink's end throws, so the partial exchange is not stored.
    const a = new AbortController();
    let started = service.nextStarted();
    let finished = service.nextFinished();
    void post(bearer(), a.signal);
    await started;
    a.abort();
    await finished;
    assert.equal(service.cancellations, 1);
    assert.equal(service.undelivered, 1);
    assert.equal(service.stored.size, 0);

    // With a key: the job runs on, is stored as delivered, and the retry gets it.
    const b = new AbortController();
    started = service.nextStarted();
    finished = service.nextFinished();
    void post(withKey("gone-1"), b.signal);
    await started;
    b.abort();
    service.release();
    await finished;
    assert.equal(service.undelivered, 1);
    const turns = [...service.stored.values()].flat();
    assert.deepEqual(turns.map((t) => [t.role, t.text, t.delivery]), [["user", "hi", "delivered"], ["assistant", "first second", "delivered"]]);
    const retry = await postMessage(app, message(), withKey("gone-1"));
    assert.equal(retry.json().reply, "first second");
  } finally {
    service.release();
    await app.close();
  }
});

test("WebhookSink: end() throws delivery_failed once marked gone; deltas are dropped from then on", () => {
  const sink = new WebhookSink(true);
  const outcome = { jobId: "j", reply: "x", finishReason: "cancelled" as const, usage: { promptTokens: 1, completionTokens: 1 }, context: { window: 10, used: 1, droppedTurns: 0 } };
  assert.equal(sink.end(outcome), undefined);
  const seen: string[] = [];
  sink.write("a");
  sink.markGone();
  sink.write("b");
  sink.attach((d) => seen.push(d));
  assert.deepEqual(seen, []);
  assert.equal(sink.gone, true);
  assert.throws(() => sink.end(outcome), (err: GlmbotError) => err.code === "delivery_failed");
});
