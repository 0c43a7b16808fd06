import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { splitSegments, splitText } from "../../../src/adapters/common/splitText.js";
import { prng } from "../../fixtures/prng.js";

/** Invariants every split must keep. */
function checkSplit(text: string, limit: number): string[] {
  const segments = splitSegments(text, limit);
  assert.equal(segments.map((s) => s.body).join(""), text, "bodies join back to the text");
  for (const [i, s] of segments.entries()) {
    assert.equal(s.text, s.reopen + s.body + s.close);
    assert.ok(s.text.length <= limit, `part ${i} has ${s.text.length} > ${limit} units`);
    if (segments.length > 1) assert.ok(s.body.length > 0, "no empty part");
    assert.match(s.reopen, /^(|(`{3,}|~{3,})[^\n]*\n)$/u, "only a fence is added at the start");
    assert.match(s.close, /^(|\n?(`{3,}|~{3,}))$/u, "only a fence is added at the end");
    const last = s.body.charCodeAt(s.body.length - 1);
    if (i < segments.length - 1) assert.ok(!(last >= 0xd800 && last <= 0xdbff), "no cut inside a surrogate pair");
  }
  return segments.map((s) => s.text);
}

describe("splitText", () => {
  test("exactly the limit is one part, one more is two", () => {
    assert.deepEqual(splitText("x".repeat(2000), 2000), ["x".repeat(2000)]);
    assert.deepEqual(splitText("x".repeat(2001), 2000), ["x".repeat(2000), "x"]);
    assert.deepEqual(splitText("", 2000), [""]);
  });

  test("4,500 characters of words give 3 parts of at most 2000 that join back exactly", () => {
    const text = Array.from({ length: 900 }, (_, i) => `w${i}`).join(" ").slice(0, 4500);
    const parts = checkSplit(text, 2000);
    assert.equal(parts.length, 3);
    assert.equal(parts.join(""), text);
    for (const part of parts.slice(0, -1)) assert.ok(part.endsWith(" "), "cut after a space");
  });

  test("prefers a paragraph, then a line, then a word boundary in the second half", () => {
    const para = "a".repeat(30) + "\n\n" + "b".repeat(10) + "\n" + "c c c" + "d".repeat(30);
    assert.deepEqual(splitText(para, 50), ["a".repeat(30) + "\n\n", "b".repeat(10) + "\n" + "c c c" + "d".repeat(30)]);
    const line = "a".repeat(30) + "\n" + "b b b" + "c".repeat(30);
    assert.equal(splitText(line, 40)[0], "a".repeat(30) + "\n");
    const word = "aaaa bbbb cccc dddd eeee";
    assert.deepEqual(splitText(word, 12), ["aaaa bbbb ", "cccc dddd ", "eeee"]);
  });

  test("a boundary early in the window loses to a later, weaker one", () => {
    const text = "ab\n\n" + "c".repeat(40) + " " + "d".repeat(20);
    assert.equal(splitText(text, 50)[0], "ab\n\n" + "c".repeat(40) + " ");
  });

  test("Chinese without spaces is cut after a sentence end", () => {
    const text = "你好。".repeat(10) + "我是机器人".repeat(10);
    const parts = checkSplit(text, 40);
    assert.ok(parts[0].endsWith("。"));
  });

  test("never inside a surrogate pair or an emoji sequence", () => {
    const family = "👨‍👩‍👧‍👦"; // 11 units, one grapheme
    const text = "😀".repeat(30);
    for (const limit of [2, 3, 5, 7, 11]) checkSplit(text, limit);
    const parts = checkSplit(("x" + family).repeat(5), 16);
    for (const part of parts) assert.ok(!part.startsWith("\u200d"), "no part starts inside the ZWJ sequence");
    assert.deepEqual(splitText("a😀", 2), ["a", "😀"]);
  });

  test("a cut inside a fenced code block closes and reopens the fence with its language", () => {
    const code = Array.from({ length: 40 }, (_, i) => `const v${i} = ${i};`).join("\n");
    const text = `Here:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
    const segments = splitSegments(text, 200);
    assert.ok(segments.length > 2);
    for (const s of segments.slice(0, -1)) assert.equal(s.close, "```", "closed after a line break");
    for (const s of segments.slice(1)) assert.equal(s.reopen, "```ts\n");
    const fences = (s: string) => (s.match(/^```/gmu) ?? []).length;
    for (const s of segments) assert.equal(fences(s.text) % 2, 0, `balanced fences in ${JSON.stringify(s.text)}`);
    checkSplit(text, 200);
  });

  test("tilde fences and longer markers: only a matching marker closes", () => {
    const text = "~~~~py\n" + "x = 1\n~~~\n".repeat(20) + "~~~~\nafter";
    const segments = splitSegments(text, 60);
    assert.equal(segments[1].reopen, "~~~~py\n", "a shorter ~~~ does not close a ~~~~ fence");
    checkSplit(text, 60);
  });

  test("markers are left out when they would take more than half the limit", () => {
    const text = "```typescript\n" + "x".repeat(100);
    for (const s of splitSegments(text, 20)) assert.equal(s.reopen + s.close, "");
  });

  test("rejects a limit below 2", () => {
    assert.throws(() => splitText("abc", 1), RangeError);
    assert.throws(() => splitText("abc", 2.5), RangeError);
  });

  const ALPHABET = ["a", "b", "word", " ", " ", "\n", "\n\n", "```", "```js\n", "\n```\n", "~~~\n", "😀", "👨‍👩‍👧", "é", "你好", "。", "\t"];
  const randomText = (rng: ReturnType<typeof prng>, n: number) => Array.from({ length: n }, () => rng.pick(ALPHABET)).join("");

  test("property: random texts keep every invariant", () => {
    const rng = prng(7);
    for (let i = 0; i < 400; i++) checkSplit(randomText(rng, rng.int(0, 199)), 2 + rng.int(0, 119));
  });

  test("property: parts before the last never change as the text grows (streaming)", () => {
    const rng = prng(11);
    for (let i = 0; i < 200; i++) {
      const limit = 16 + rng.int(0, 79);
      const full = randomText(rng, 50 + rng.int(0, 249));
      const whole = splitText(full, limit);
      const prefix = full.slice(0, rng.int(0, full.length));
      const early = splitText(prefix, limit);
      assert.deepEqual(early.slice(0, -1), whole.slice(0, early.length - 1), `prefix ${JSON.stringify(prefix)} limit ${limit}`);
    }
  });
});
