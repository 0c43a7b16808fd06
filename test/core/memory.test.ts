import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import { type ConversationStore, type ConversationStoreOptions, createConversationStore } from "../../src/core/memory.js";
import type { StoredTurn } from "../../src/core/ports.js";
import { haveRedis, startRedis, type TestRedis } from "./redisServer.js";

const DAY = 86_400_000;

function turn(role: "user" | "assistant", text: string, at = 1): StoredTurn {
  return { role, authorId: role === "user" ? "U1" : "glmbot", authorName: role === "user" ? "Alice" : "fake", text, tokens: 3, at, platformMessageIds: [`m-${text}`], delivery: "delivered" };
}
const exchange = (i: number) => [turn("user", `q${i}`), turn("assistant", `a${i}`)];

/** The same behaviour is required of every backend. */
function storeSuite(name: string, open: (extra?: Partial<ConversationStoreOptions>) => Promise<ConversationStore>) {
  describe(`ConversationStore (${name})`, () => {
    it("appends exchanges, keeps every field, and isolates keys", async () => {
      const store = await open();
      try {
        await store.appendExchange("discord:G1:C1", exchange(1));
        await store.appendExchange("discord:G1:C2", exchange(2));
        await store.appendExchange("discord:G1:C1", exchange(3));
        assert.deepEqual((await store.get("discord:G1:C1"))?.turns, [...exchange(1), ...exchange(3)]);
        assert.deepEqual((await store.get("discord:G1:C2"))?.turns, exchange(2));
        assert.equal(await store.get("discord:G1:C3"), undefined);
      } finally {
        await store.close();
      }
    });

    it("trims to maxTurns by dropping the oldest whole exchanges", async () => {
      const store = await open({ maxTurns: 5 });
      try {
        for (let i = 0; i < 4; i++) await store.appendExchange("k", exchange(i));
        assert.deepEqual((await store.get("k"))?.turns.map((t) => t.text), ["q2", "a2", "q3", "a3"]);
      } finally {
        await store.close();
      }
    });

    it("sets and clears the system prompt without touching turns; reset forgets both", async () => {
      const store = await open();
      try {
        await store.appendExchange("k", exchange(1));
        await store.setSystemPrompt("k", "Be brief.");
        assert.equal((await store.get("k"))?.systemPrompt, "Be brief.");
        assert.equal((await store.get("k"))?.turns.length, 2);
        await store.setSystemPrompt("k", undefined);
        assert.equal((await store.get("k"))?.systemPrompt, undefined);
        await store.setSystemPrompt("k", "Be brief.");
        await store.reset("k");
        assert.equal(await store.get("k"), undefined);
      } finally {
        await store.close();
      }
    });

    it("forgets a conversation idle for idleTtlMs (injected clock)", async () => {
      let now = 1_000_000;
      const store = await open({ idleTtlMs: DAY, now: () => now });
      try {
        await store.appendExchange("k", exchange(1));
        now += DAY - 1;
        assert.ok(await store.get("k"));
        await store.appendExchange("k", exchange(2)); // activity refreshes the TTL
        now += DAY - 1;
        assert.equal((await store.get("k"))?.turns.length, 4);
        now += 1;
        assert.equal(await store.get("k"), undefined);
      } finally {
        await store.close();
      }
    });

    it("serializes concurrent appends to one key (none lost, in call order)", async () => {
      const store = await open({ maxTurns: 100 });
      try {
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendExchange("busy", exchange(i))));
        assert.deepEqual((await store.get("busy"))?.turns.map((t) => t.text), Array.from({ length: 20 }, (_, i) => [`q${i}`, `a${i}`]).flat());
      } finally {
        await store.close();
      }
    });

    it("survives a restart of the store", async () => {
      const first = await open();
      await first.appendExchange("webhook:alerts:incident-42", exchange(7));
      await first.setSystemPrompt("webhook:alerts:incident-42", "Answer in German.");
      await first.close();
      const second = await open();
      try {
        const record = await second.get("webhook:alerts:incident-42");
        assert.deepEqual(record?.turns, exchange(7));
        assert.equal(record?.systemPrompt, "Answer in German.");
      } finally {
        await second.close();
      }
    });
  });
}

let dataDir = "";
before(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "glmbot-mem-"));
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

let sqliteRun = 0;
storeSuite("sqlite", async (extra) => {
  const options = { dataDir: path.join(dataDir, `s${extra ? ++sqliteRun : 0}`), maxTurns: 20, idleTtlMs: DAY, ...extra };
  return createConversationStore(options);
});

describe("ConversationStore (redis)", { skip: haveRedis ? false : "redis-server not installed" }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });
  let prefix = 0;
  storeSuite("redis", async (extra) => {
    const store = await createConversationStore({ url: redis.url, dataDir, maxTurns: 20, idleTtlMs: DAY, ...extra });
    // Each test uses its own keys through a prefixing wrapper, except the restart test which reopens the same ones.
    const p = extra ? `t${++prefix}:` : "";
    return {
      get: (key) => store.get(p + key),
      appendExchange: (key, turns) => store.appendExchange(p + key, turns),
      setSystemPrompt: (key, text) => store.setSystemPrompt(p + key, text),
      reset: (key) => store.reset(p + key),
      close: () => store.close(),
    };
  });
});

describe("createConversationStore", () => {
  it("uses <dataDir>/glmbot.sqlite by default and rejects unknown URL schemes", async () => {
    await assert.rejects(createConversationStore({ url: "mongodb://x", dataDir, maxTurns: 10, idleTtlMs: DAY }), (e) => isGlmbotError(e, "config_invalid"));
    const store = await createConversationStore({ dataDir: path.join(dataDir, "default"), maxTurns: 10, idleTtlMs: DAY });
    await store.appendExchange("k", exchange(1));
    await store.close();
    const { existsSync } = await import("node:fs");
    assert.ok(existsSync(path.join(dataDir, "default", "glmbot.sqlite")));
  });
});
