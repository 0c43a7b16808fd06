import { test } from "node:test";
import assert from "node:assert/strict";
import { layoutMrkdwn, toMrkdwn } from "../../../src/adapters/slack/markdown.js";
import { mentionedUserIds, promptText } from "../../../src/adapters/slack/promptText.js";

const names = new Map([["UBOB", "Bob Smith"]]);

test("promptText removes the bot's own mention wherever it appears, in both forms", () => {
  assert.equal(promptText("<@UBOT> what is 2+2?", "UBOT", names), "what is 2+2?");
  assert.equal(promptText("<@UBOT|glmbot>, summarize this", "UBOT", names), "summarize this");
  assert.equal(promptText("what do you think <@UBOT>?", "UBOT", names), "what do you think?");
  assert.equal(promptText("hey <@UBOT> and again <@UBOT|glmbot> please", "UBOT", names), "hey and again please");
  assert.equal(promptText("line one <@UBOT>\n<@UBOT> line two\n    indented code", "UBOT", names), "line one\nline two\n    indented code");
  assert.equal(promptText("<@UBOT>", "UBOT", names), "");
});

test("promptText resolves other users' mentions to names and unescapes Slack's entities", () => {
  assert.equal(promptText("<@UBOT> ask <@UBOB> and <@UCAROL|carol> about <#C1|general>", "UBOT", names), "ask @Bob Smith and @carol about #general");
  assert.equal(promptText("<@UBOT> is 1 &lt; 2 &amp;&amp; 3 &gt; 2?", "UBOT", names), "is 1 < 2 && 3 > 2?");
  assert.equal(promptText("<@UBOT> see <https://ex.com/a|the docs> and <https://ex.com/b> <mailto:a@b.c|a@b.c>", "UBOT", names), "see the docs (https://ex.com/a) and https://ex.com/b a@b.c");
  assert.equal(promptText("<!here> <@UBOT> <!subteam^S1|@oncall> ping", "UBOT", names), "@here @oncall ping");
  assert.equal(promptText("<@UUNKNOWN> hi <@UBOT>", "UBOT", names), "@UUNKNOWN hi");
  assert.deepEqual(mentionedUserIds("<@UBOT> <@UBOB> <@UBOB|bob> <@W123> <#C1>"), ["UBOT", "UBOB", "W123"]);
});

test("toMrkdwn converts bold, italics, headings, links and lists", () => {
  const out = toMrkdwn("# Title\n\nSome **bold**, *italic* and [a link](https://example.com/x?a=1&b=2).\n\n- one\n- two");
  assert.match(out, /^\*Title\*/);
  assert.match(out, /\*bold\*/);
  assert.match(out, /_italic_/);
  assert.ok(out.includes("<https://example.com/x?a=1&amp;b=2|a link>"), out);
  assert.match(out, /• {1,3}one\n• {1,3}two/);
  assert.ok(!out.includes("**"));
});

test("toMrkdwn keeps code intact and never emits a live mention from model text", () => {
  const out = toMrkdwn("Run `a && b <x>` or:\n\n```ts\nif (a < b && c > d) ping('<!channel>');\n```\n\nthen <!here> <@U123> <#C1>");
  assert.ok(out.includes("`a &amp;&amp; b &lt;x&gt;`"), out);
  assert.ok(out.includes("```\nif (a &lt; b &amp;&amp; c &gt; d) ping('&lt;!channel&gt;');\n```"), out);
  assert.ok(out.includes("&lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt;"), out);
  assert.equal(/<[!@#]/.test(out), false);
  assert.ok(toMrkdwn("> quoted").startsWith("> quoted"));
  assert.equal(toMrkdwn("see <https://auto.example>"), "see <https://auto.example|https://auto.example>");
});

test("layoutMrkdwn keeps every part within the limit, loses no text and closes split code fences", () => {
  const code = Array.from({ length: 120 }, (_, i) => `  const value${i} = compute(${i}) && check("<${i}>");`).join("\n");
  const markdown = `# Report\n\n${"Intro **bold** & more text. ".repeat(60)}\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
  const parts = layoutMrkdwn(markdown, 3000);
  assert.ok(parts.length >= 3, `parts: ${parts.length}`);
  for (const part of parts) assert.ok(part.length <= 3000 && part.length > 0, `part of ${part.length}`);
  const fences = parts.map((p) => (p.match(/```/g) ?? []).length);
  for (const count of fences) assert.equal(count % 2, 0, "each part has balanced fences");
  const all = parts.join("\n");
  for (let i = 0; i < 120; i++) assert.ok(all.includes(`const value${i} = compute(${i}) &amp;&amp; check("&lt;${i}&gt;");`), `line ${i}`);
  assert.ok(all.includes("Done."));
});

test("layoutMrkdwn splits again when escaping makes a part too long", () => {
  const parts = layoutMrkdwn("&".repeat(1000), 200);
  assert.ok(parts.every((p) => p.length <= 200));
  assert.equal(parts.join("").replaceAll("&amp;", "&"), "&".repeat(1000));
});
