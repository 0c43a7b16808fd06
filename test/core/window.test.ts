import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isGlmbotError } from "../../src/core/errors.js";
import type { ChatTurn } from "../../src/core/ports.js";
import { fitContextWindow } from "../../src/core/window.js";
import { fakeCount } from "./FakeEngine.js";
import { chineseText, prng } from "../fixtures/prng.js";

const system: ChatTurn = { role: "system", content: "You are a helpful assistant." };
const user = (content: string): ChatTurn => ({ role: "user", content });
const assistant = (content: string): ChatTurn => ({ role: "assistant", content });
const exchange = (i: number): ChatTurn[] => [user(`question ${i} about things`), assistant(`answer ${i} with words`)];

function counter() {
  const counter = { calls: 0, countTokens: async (turns: readonly ChatTurn[]) => (counter.calls++, fakeCount(turns)) };
  return counter;
}

async function fit(history: ChatTurn[][], budget: number, newMessage = user("newest message")) {
  return fitContextWindow({ system, history, newMessage, budget, countTokens: counter().countTokens });
}

describe("fitContextWindow", () => {
  const history = Array.from({ length: 5 }, (_, i) => exchange(i));
  const full = fakeCount([system, ...history.flat(), user("newest message")]);

  it("sends a conversation of exactly the budget unchanged, with one count", async () => {
    const c = counter();
    const result = await fitContextWindow({ system, history, newMessage: user("newest message"), budget: full, countTokens: c.countTokens });
    assert.deepEqual(result.turns, [system, ...history.flat(), user("newest message")]);
    assert.equal(result.promptTokens, full);
    assert.equal(result.droppedTurns, 0);
    assert.equal(result.droppedExchanges, 0);
    assert.equal(c.calls, 1);
  });

  it("drops exactly the oldest exchange when one token over", async () => {
    const result = await fit(history, full - 1);
    assert.deepEqual(result.turns, [system, ...history.slice(1).flat(), user("newest message")]);
    assert.equal(result.droppedTurns, 2);
    assert.equal(result.droppedExchanges, 1);
    assert.equal(result.promptTokens, fakeCount(result.turns));
  });

  it("at each budget between 'only the new message' and 'everything', drops the fewest exchanges", async () => {
    const alone = fakeCount([system, user("newest message")]);
    for (let budget = alone; budget <= full + 2; budget++) {
      const result = await fit(history, budget);
      assert.ok(result.promptTokens <= budget);
      const dropped = result.droppedExchanges;
      if (dropped > 0) {
        const putBack = [system, ...history.slice(dropped - 1).flat(), user("newest message")];
        assert.ok(fakeCount(putBack) > budget, `budget ${budget}: putting back exchange ${dropped - 1} would fit`);
      }
    }
  });

  it("keeps the system prompt and the newest message in full, dropping every exchange if needed", async () => {
    const budget = fakeCount([system, user("newest message")]);
    const result = await fit(history, budget);
    assert.deepEqual(result.turns, [system, user("newest message")]);
    assert.equal(result.droppedTurns, 10);
  });

  it("keeps the system prompt across 60 exchanges", async () => {
    const long = Array.from({ length: 60 }, (_, i) => exchange(i));
    const c = counter();
    const result = await fitContextWindow({ system, history: long, newMessage: user("hi"), budget: 200, countTokens: c.countTokens });
    assert.deepEqual(result.turns[0], system);
    assert.deepEqual(result.turns.at(-1), user("hi"));
    assert.ok(result.promptTokens <= 200);
    assert.ok(c.calls <= Math.ceil(Math.log2(61)) + 2, `${c.calls} counts`);
  });

  it("fails fast with input_too_long {tokens, limit} when the message cannot fit alone", async () => {
    const big = user("word ".repeat(300));
    const tokens = fakeCount([system, big]);
    await assert.rejects(fit(history, tokens - 1, big), (error) => {
      assert.ok(isGlmbotError(error, "input_too_long"));
      assert.deepEqual(error.details, { tokens, limit: tokens - 1 });
      return true;
    });
    assert.equal((await fit([], tokens, big)).promptTokens, tokens);
  });

  it("works without a system prompt and drops an unpaired user turn as one unit", async () => {
    const odd: ChatTurn[][] = [[user("lonely question")], exchange(1)];
    const budget = fakeCount([...exchange(1), user("x")]);
    const result = await fitContextWindow({ history: odd, newMessage: user("x"), budget, countTokens: counter().countTokens });
    assert.deepEqual(result.turns, [...exchange(1), user("x")]);
    assert.equal(result.droppedTurns, 1);
  });

  it("never overflows with 40 Chinese-heavy exchanges, at any budget", async () => {
    const rand = prng(40);
    const chinese = Array.from({ length: 40 }, () => [user(chineseText(rand, rand.int(5, 80))), assistant(chineseText(rand, rand.int(5, 200)))]);
    const newMessage = user(chineseText(rand, 60));
    const alone = fakeCount([system, newMessage]);
    for (let budget = alone; budget <= 2048; budget += 37) {
      const result = await fit(chinese, budget, newMessage);
      assert.ok(result.promptTokens <= budget);
      assert.equal(result.promptTokens, fakeCount(result.turns));
    }
  });

  it("property: within budget, a suffix of whole exchanges, minimal drop (seeded random)", async () => {
    const rand = prng(2024);
    for (let round = 0; round < 300; round++) {
      const history = Array.from({ length: rand.int(0, 25) }, () =>
        rand.next() < 0.1 ? [user(chineseText(rand, rand.int(1, 40)))] : [user(chineseText(rand, rand.int(1, 40))), assistant(chineseText(rand, rand.int(1, 120)))],
      );
      const sys = rand.next() < 0.2 ? undefined : user(chineseText(rand, rand.int(0, 30)));
      const systemTurn = sys && { role: "system" as const, content: sys.content };
      const newMessage = user(chineseText(rand, rand.int(1, 60)));
      const budget = rand.int(5, 1500);
      const head = systemTurn && systemTurn.content !== "" ? [systemTurn] : [];
      const alone = fakeCount([...head, newMessage]);
      try {
        const result = await fitContextWindow({ system: systemTurn, history, newMessage, budget, countTokens: counter().countTokens });
        assert.ok(alone <= budget, `round ${round}: should have refused`);
        const kept = history.slice(result.droppedExchanges);
        assert.deepEqual(result.turns, [...head, ...kept.flat(), newMessage]);
        assert.equal(result.promptTokens, fakeCount(result.turns));
        assert.ok(result.promptTokens <= budget);
        if (result.droppedExchanges > 0) {
          const putBack = [...head, ...history.slice(result.droppedExchanges - 1).flat(), newMessage];
          assert.ok(fakeCount(putBack) > budget, `round ${round}: not minimal`);
        }
      } catch (error) {
        assert.ok(isGlmbotError(error, "input_too_long"), String(error));
        assert.ok(alone > budget, `round ${round}: refused a message that fits`);
        assert.deepEqual(error.details, { tokens: alone, limit: budget });
      }
    }
  });
});
