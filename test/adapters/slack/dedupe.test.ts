import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSlackStore, threadKey } from "../../../src/adapters/slack/dedupe.js";

const MIN = 60_000;

test("claims dedupe concurrently, expire after the TTL, and survive a restart (real SQLite file)", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "glmbot-slack-dedupe-"));
  let now = 1_700_000_000_000;
  const open = () => createSlackStore({ dataDir: dir, dedupeTtlMs: 10 * MIN, threadTtlMs: 60 * MIN, now: () => now });
  try {
    const store = await open();
    // the app_mention and the message event of one mention arrive together: one wins
    const [a, b] = await Promise.all([store.claim(["event:Ev1", "msg:T1:C1:1.1"]), store.claim(["event:Ev2", "msg:T1:C1:1.1"])]);
    assert.deepEqual([a, b].sort(), [false, true]);
    assert.equal(await store.claim(["event:Ev1"]), false, "a retried delivery");
    await store.followThread(threadKey("T1", "C1", "1.1"));
    await store.close();

    const restarted = await open();
    assert.equal(await restarted.claim(["event:Ev3", "msg:T1:C1:1.1"]), false, "remembered across a restart");
    assert.equal(await restarted.isFollowed(threadKey("T1", "C1", "1.1")), true);
    assert.equal(await restarted.isFollowed(threadKey("T1", "C1", "2.2")), false);
    now += 10 * MIN - 1;
    assert.equal(await restarted.claim(["event:Ev1"]), false, "still within 10 minutes");
    now += 1;
    assert.equal(await restarted.claim(["event:Ev1"]), true, "forgotten after the TTL");
    now += 50 * MIN;
    assert.equal(await restarted.isFollowed(threadKey("T1", "C1", "1.1")), false, "thread TTL");
    await restarted.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an unknown memory URL scheme is refused", async () => {
  await assert.rejects(createSlackStore({ url: "mongodb://x", dataDir: "/nonexistent", dedupeTtlMs: 10 * MIN, threadTtlMs: MIN }), /memory URL/);
});
