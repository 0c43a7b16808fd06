/**
 * `glmbot prompt`: the prompt it reconstructs is the one core sent (same fit, same turns), its token counts are
 * the engine's, and the CLI prints the exact prompt text, the count and the dropped exchanges — for a JSON
 * file and for a stored conversation id.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { createConversationStore } from "../../src/core/memory.js";
import type { ChatTurn, StoredTurn } from "../../src/core/ports.js";
import { parseConversation } from "../../src/ops/prompt/conversationFile.js";
import { inspectPrompt } from "../../src/ops/prompt/inspectPrompt.js";
import { openPromptTokenizer } from "../../src/ops/prompt/promptTokenizer.js";
import { fakeCount } from "../core/FakeEngine.js";
import { FakeSink } from "../core/FakeSink.js";
import { setup, shared, SYSTEM } from "../core/managerHarness.js";
import { BIN, ROOT, waitExit } from "../e2e/serviceProcess.js";
import { testModelPath } from "../fixtures/testModels.js";
import { openEngine, sharedLlama } from "../inference/helpers.js";

after(async () => (await sharedLlama()).dispose());

const EXCHANGES: Array<[string, string, string]> = [
  ["alice", "What is our on-call rota this week? Please list everyone on it.", "Alice on Monday, Bob on Tuesday, Carol for the rest of the week."],
  ["bob", "你好，周五谁值班？", "Carol."],
  ["alice", "Who approves deploys on Friday?", "Dave approves them."],
];

function storedTurns(exchanges = EXCHANGES, last?: [string, string]): StoredTurn[] {
  const turn = (role: "user" | "assistant", who: string, text: string): StoredTurn => ({ role, authorId: who, authorName: who, text, tokens: 0, at: 0, platformMessageIds: [], delivery: "delivered" });
  const turns = exchanges.flatMap(([who, q, a]) => [turn("user", who, q), turn("assistant", "glmbot", a)]);
  if (last) turns.push(turn("user", last[0], last[1]));
  return turns;
}

describe("prompt reconstruction", () => {
  test("it is the prompt core sent, with the same dropped exchanges", async () => {
    const h = await setup({ engine: { contextSize: 120 }, manager: { contextSize: 120 } });
    try {
      const ref = shared("discord:G1:C9");
      const texts = ["first question about the rota and who is on it", "second question about the deploy freeze window", "third: who approves deploys?", "fourth and last question"];
      for (const [i, text] of texts.entries()) {
        const handle = await h.manager.submit({ conversation: ref, author: { id: `u${i}`, displayName: i % 2 ? "Bob" : "Alice" }, text }, new FakeSink());
        await handle.done; // delivered and stored
      }
      const record = await h.store.get(ref.key);
      const sent = h.engine.calls.at(-1)!;
      const dropped = h.events.filter((e) => e.name === "dropped_turns").at(-1)!.data;
      const result = await inspectPrompt(parseConversation({ kind: "shared", turns: record!.turns }, ref.key), {
        kind: "shared",
        contextSize: 120,
        maxTokens: 64,
        defaultSystemPrompt: SYSTEM,
        countTokens: async (turns) => fakeCount(turns),
      });
      assert.deepEqual(result.turns, sent.turns);
      assert.equal(result.promptTokens, sent.promptTokens);
      assert.equal(result.droppedTurns, dropped.turns);
      assert.ok(result.dropped.length > 0, "the small window dropped something");
      assert.equal(result.dropped[0]![0]!.text, texts[0]);
    } finally {
      await h.close();
    }
  });

  test("a new message, the system prompt's precedence and refusals", async () => {
    const conversation = parseConversation({ systemPrompt: "Conversation system.", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] }, "f");
    const base = { kind: "direct" as const, contextSize: 200, maxTokens: 50, defaultSystemPrompt: "Config system.", countTokens: async (t: readonly ChatTurn[]) => fakeCount(t) };
    const next = await inspectPrompt(conversation, { ...base, message: { text: "next", authorId: "op", authorName: "op" } });
    assert.deepEqual(next.turns, [
      { role: "system", content: "Conversation system." },
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
      { role: "user", content: "next" },
    ]);
    assert.equal(next.systemSource, "conversation");
    const override = await inspectPrompt(conversation, { ...base, systemOverride: "Request system." });
    assert.deepEqual([override.systemSource, override.turns[0]], ["request", { role: "system", content: "Request system." }]);
    await assert.rejects(inspectPrompt(parseConversation([{ role: "assistant", content: "x" }], "f"), base), /no user message/);
    await assert.rejects(inspectPrompt(conversation, { ...base, maxTokens: 197 }), (e: Error & { code?: string }) => e.code === "input_too_long");
    assert.throws(() => parseConversation({ turns: [{ role: "bot", text: "x" }] }, "f"), /turns\[0\]\.role: expected "user" or "assistant"/);
  });

  test("the vocabulary-only tokenizer counts what the engine counts, for both formats", async () => {
    for (const flavor of ["chatglm3", "glm4"] as const) {
      const engine = await openEngine({ flavor, realIds: true });
      const tokenizer = await openPromptTokenizer(await testModelPath({ flavor, realIds: true }), "auto", await sharedLlama());
      try {
        const prompts: ChatTurn[][] = [
          [{ role: "user", content: "你好" }],
          [{ role: "system", content: "Be brief." }, { role: "user", content: "a <|assistant|> b" }, { role: "assistant", content: "ok" }, { role: "user", content: "再来 🤖" }],
        ];
        for (const turns of prompts) {
          assert.deepEqual(tokenizer.tokenize(turns), engine.tokenize(turns), flavor);
          assert.equal(await tokenizer.countTokens(turns), await engine.countTokens(turns));
        }
        if (flavor === "glm4") assert.equal(tokenizer.render(tokenizer.tokenize(prompts[1]!)), engine.wrapper.renderText(prompts[1]!));
        assert.deepEqual(tokenizer.literalControlTexts(tokenizer.tokenize(prompts[1]!)), ["<|assistant|>"]);
      } finally {
        await tokenizer.dispose();
        await engine.dispose();
      }
    }
  });
});

describe("glmbot prompt (CLI)", () => {
  let model: string;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    model = await testModelPath({ flavor: "glm4", reply: "ok" });
    dir = mkdtempSync(path.join(tmpdir(), "glmbot-prompt-"));
    env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", GLMBOT_MODEL: model, GLMBOT_DATA_DIR: path.join(dir, "data"), GLMBOT_CONTEXT_SIZE: "256" };
  });

  async function prompt(args: string[]) {
    const child = spawn(process.execPath, [BIN, "prompt", ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    return { code: await waitExit(child, 120_000), stdout, stderr };
  }

  test("--conversation FILE.json prints the exact prompt, its token count and what was dropped", async () => {
    const file = path.join(dir, "conversation.json");
    const turns = storedTurns(EXCHANGES, ["carol", "And on Saturday?"]).map((t) => ({ role: t.role, author: { id: t.authorId, name: t.authorName }, text: t.text }));
    writeFileSync(file, JSON.stringify({ conversation_id: "ops", turns }));
    const args = ["--conversation", file, "--max-tokens", "150", "--system", "Be brief."];
    const text = await prompt(args);
    assert.equal(text.code, 0, text.stderr);
    const json = await prompt([...args, "--json"]);
    const report = JSON.parse(json.stdout);
    // what core would send: the kept exchanges (newest), the message, and nothing older
    const kept = EXCHANGES.slice(report.droppedExchanges).flatMap(([, q, a]) => [`<|user|>\n${q}<|assistant|>\n${a}`]).join("");
    assert.equal(report.text, `[gMASK]<sop><|system|>\nBe brief.${kept}<|user|>\nAnd on Saturday?<|assistant|>`);
    assert.ok(report.droppedExchanges >= 1 && report.droppedExchanges < 3, JSON.stringify(report));
    assert.equal(report.budget, 256 - 150);
    assert.ok(report.promptTokens <= report.budget);
    assert.equal(report.tokens.length, report.promptTokens);
    assert.deepEqual(report.dropped[0], [{ role: "user", author: "alice", text: EXCHANGES[0]![1] }, { role: "assistant", author: "glmbot", text: EXCHANGES[0]![2] }]);

    assert.match(text.stdout, /^Conversation: ops — direct, 3 earlier exchange\(s\); prompt for its last user message$/m);
    assert.match(text.stdout, /context 256 tokens − 150 reserved for the reply = budget 106 tokens/);
    assert.match(text.stdout, new RegExp(`^Prompt: ${report.promptTokens} tokens$`, "m"));
    assert.match(text.stdout, new RegExp(`^Dropped: ${report.droppedExchanges} of 3 exchanges \\(${report.droppedTurns} turns\\), oldest first`, "m"));
    assert.match(text.stdout, /^  #1 alice: "What is our on-call rota this week\? Please list everyone on it\." \+ reply$/m);
    assert.ok(text.stdout.includes(`-----\n${report.text}\n----- end of prompt (${report.promptTokens} tokens) -----`));
  });

  test("--id KEY reads a stored conversation; bad input exits non-zero with the reason", async () => {
    const store = await createConversationStore({ dataDir: path.join(dir, "data"), maxTurns: 200, idleTtlMs: 0 });
    await store.appendExchange("webhook:default:team/1", storedTurns(EXCHANGES.slice(0, 1)));
    await store.appendExchange("webhook:default:team/1", storedTurns(EXCHANGES.slice(1, 2)));
    await store.close();
    const stored = await prompt(["--id", "webhook:default:team/1", "--message", "one more", "--max-tokens", "20"]);
    assert.equal(stored.code, 0, stored.stderr);
    assert.match(stored.stdout, /^Conversation: webhook:default:team\/1 — direct, 2 earlier exchange\(s\); prompt for a new message \(--message\)$/m);
    assert.match(stored.stdout, /Dropped: nothing — every earlier exchange fits/);
    assert.match(stored.stdout, /<\|user\|>\n你好，周五谁值班？<\|assistant\|>\nCarol\.<\|user\|>\none more<\|assistant\|>\n----- end/);

    const missing = await prompt(["--id", "webhook:default:nope"]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no stored conversation 'webhook:default:nope'/);
    const bad = path.join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ messages: [{ role: "user" }] }));
    const invalid = await prompt(["--conversation", bad]);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /bad\.json: messages\[0\]: expected "text" or "content"/);
    const usage = await prompt([]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give exactly one of --conversation FILE\.json or --id KEY/);
  });
});
