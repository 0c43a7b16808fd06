import { test } from "node:test";
import assert from "node:assert/strict";
import { GlmbotError } from "../../../src/core/errors.js";
import { createMetricsRegistry } from "../../../src/metrics.js";
import { TOKEN, listen, makeServer, message, readSse } from "./helpers.js";

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

test("SSE over a real socket: token deltas concatenate to the reply, done carries the final JSON", async () => {
  const { app, service } = makeServer();
  // Chinese, emoji (astral, ZWJ sequences, flags) and a combining mark, in deltas of varied size.
  const deltas = ["你好", "，世界", "！", "😀", "👩‍💻", " 🇨🇳", "é", "\n- 第二行", "🎉🎉"];
  service.script = { deltas };
  const base = await listen(app);
  try {
    const res = await fetch(`${base}/v1/messages`, { method: "POST", headers, body: JSON.stringify(message({ stream: true })) });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    const events = await readSse(res);
    const tokens = events.filter((e) => e.event === "token").map((e) => (e.data as { text: string }).text);
    const done = events.at(-1)!;
    assert.equal(done.event, "done");
    const final = done.data as { reply: string; finish_reason: string; id: string };
    assert.deepEqual(tokens, deltas);
    assert.equal(tokens.join(""), deltas.join(""));
    assert.equal(final.reply, deltas.join(""));
    assert.equal(final.finish_reason, "stop");
    assert.ok(!final.reply.includes("\uFFFD"));
    assert.ok(!tokens.join("").includes("\uFFFD"));
  } finally {
    await app.close();
  }
});

test("Accept: text/event-stream selects SSE; a failed job ends with an error event", async () => {
  const { app, service } = makeServer();
  service.script = { deltas: ["partial"], fail: true };
  const base = await listen(app);
  try {
    const res = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers: { ...headers, accept: "text/event-stream" },
      body: JSON.stringify(message()),
    });
    const events = await readSse(res);
    assert.deepEqual(events.map((e) => e.event), ["token", "error"]);
    assert.equal((events[1].data as { error: { code: string } }).error.code, "generation_failed");
  } finally {
    await app.close();
  }
});

test("SSE refusals before the job starts are plain JSON errors with their status", async () => {
  const { app, service } = makeServer();
  service.refuse = new GlmbotError("queue_full", "busy", { retryAfterSeconds: 3 });
  const base = await listen(app);
  try {
    const res = await fetch(`${base}/v1/messages`, { method: "POST", headers, body: JSON.stringify(message({ stream: true })) });
    assert.equal(res.status, 429);
    assert.equal(res.headers.get("retry-after"), "3");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "queue_full");
  } finally {
    await app.close();
  }
});

test("a client disconnecting mid-stream cancels the job; the partial reply it never saw the end of is not stored", async () => {
  const { app, service } = makeServer();
  service.script = { deltas: ["first", "second", "third"], pauseAt: 1 };
  service.hold();
  const base = await listen(app);
  try {
    const abort = new AbortController();
    const res = await fetch(`${base}/v1/messages`, {
      method: "POST",
      headers,
      body: JSON.stringify(message({ stream: true })),
      signal: abort.signal,
    });
    const cancelled = service.nextCancelled();
    const finished = service.nextFinished();
    const seen = await readSse(res, (e) => e.event === "token");
    assert.deepEqual(seen.map((e) => e.data), [{ text: "first" }]);
    abort.abort();
    await cancelled;
    await finished;
    assert.equal(service.cancellations, 1);
    assert.equal(service.generations, 1);
    assert.equal(service.undelivered, 1, "end() threw: core records delivery_failed");
    assert.equal(service.stored.size, 0, "nothing stored, not even as partial");
  } finally {
    service.release();
    await app.close();
  }
});

test("an SSE request is counted once in glmbot_webhook_requests_total", async () => {
  const registry = createMetricsRegistry();
  const { app } = makeServer({ metrics: registry });
  const base = await listen(app);
  const count = async () => {
    const m = /glmbot_webhook_requests_total\{route="\/v1\/messages",status="200"\} (\d+)/.exec(await registry.metrics());
    return m ? Number(m[1]) : 0;
  };
  try {
    assert.equal(await count(), 0);
    const res = await fetch(`${base}/v1/messages`, { method: "POST", headers, body: JSON.stringify(message({ stream: true })) });
    const events = await readSse(res);
    assert.equal(events.at(-1)?.event, "done");
    // The server has finished the response once the client saw its end; wait for the hook via a second request.
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal(await count(), 1);
  } finally {
    await app.close();
  }
});
