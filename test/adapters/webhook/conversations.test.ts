import { test } from "node:test";
import assert from "node:assert/strict";
import { OTHER_TOKEN, bearer, makeServer, message, postMessage, signed } from "./helpers.js";

test("GET lists stored turns with token counts; DELETE resets; ids may contain '/'", async () => {
  const { app, service } = makeServer();
  const id = "team/alerts:incident-42@prod";
  await postMessage(app, message({ conversation_id: id, text: "first" }));
  await postMessage(app, message({ conversation_id: id, text: "second" }));

  for (const url of [`/v1/conversations/${encodeURIComponent(id)}`, `/v1/conversations/${id}`]) {
    const res = await app.inject({ method: "GET", url, headers: bearer() });
    assert.equal(res.statusCode, 200, url);
    const body = res.json();
    assert.equal(body.conversation_id, id);
    assert.deepEqual(body.turns.map((t: { role: string; text: string }) => [t.role, t.text]), [
      ["user", "first"],
      ["assistant", "Hello, world!"],
      ["user", "second"],
      ["assistant", "Hello, world!"],
    ]);
    for (const t of body.turns) assert.equal(typeof t.tokens, "number");
    assert.equal(body.total_tokens, body.turns.reduce((s: number, t: { tokens: number }) => s + t.tokens, 0));
    assert.deepEqual(body.turns[0].author, { id: "alice", name: "alice" });
  }

  const del = await app.inject({ method: "DELETE", url: `/v1/conversations/${encodeURIComponent(id)}`, headers: bearer() });
  assert.equal(del.statusCode, 200);
  assert.deepEqual(del.json(), { conversation_id: id, deleted: true });
  assert.deepEqual(service.resets, [`webhook:acme:${id}`]);
  const after = await app.inject({ method: "GET", url: `/v1/conversations/${encodeURIComponent(id)}`, headers: bearer() });
  assert.deepEqual(after.json().turns, []);
  await app.close();
});

test("conversations are scoped to the authenticated client; auth and id are checked", async () => {
  const { app } = makeServer();
  await postMessage(app, message({ conversation_id: "shared-name" }));
  const other = await app.inject({ method: "GET", url: "/v1/conversations/shared-name", headers: bearer(OTHER_TOKEN) });
  assert.deepEqual(other.json().turns, []);
  // Signed GET: the signature covers an empty body.
  const mine = await app.inject({ method: "GET", url: "/v1/conversations/shared-name", headers: signed("") });
  assert.equal(mine.json().turns.length, 2);
  const anon = await app.inject({ method: "GET", url: "/v1/conversations/shared-name" });
  assert.equal(anon.statusCode, 401);
  assert.equal(anon.json().error.code, "unauthorized");
  const bad = await app.inject({ method: "DELETE", url: `/v1/conversations/${encodeURIComponent("no spaces")}`, headers: bearer() });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().error.field, "conversation_id");
  const empty = await app.inject({ method: "GET", url: "/v1/conversations/", headers: bearer() });
  assert.equal(empty.statusCode, 400);
  await app.close();
});
