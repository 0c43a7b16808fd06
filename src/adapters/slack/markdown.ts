/**
 * ChatGLM's Markdown → Slack mrkdwn, with slackify-markdown 4.5 (remark-based): `**b**` → `*b*`,
 * `[t](u)` → `<u|t>`, headings → bold lines, lists → `•`, code blocks and inline code kept (the language tag
 * is dropped), tables left as text (mrkdwn has none).
 *
 * Safety: the model's text can never produce a Slack control sequence (`<!channel>`, `<@U…>`, `<#C…>`) and
 * `&`, `<`, `>` always display as typed, in text and in code. slackify-markdown keeps `<@…>`/`<#…>` in text and
 * does not escape code, so before conversion each `&`, `<` (except in Markdown autolinks `<https://…>`) and `>`
 * (except blockquote markers) becomes a private-use placeholder that Markdown treats as a plain letter, and
 * after conversion each placeholder becomes its entity (`&amp;` `&lt;` `&gt;`, which Slack decodes everywhere).
 * Only the links the converter writes itself stay live.
 */
import slackify from "slackify-markdown";
import { splitText } from "../common/splitText.js";

const AUTOLINK = /^<(?:https?:\/\/|mailto:)[^\s<>|]*>/;
const QUOTE_MARKERS = /^(?: {0,3}>[ \t]?)+/;
/** Placeholders (U+E000–U+E002) and their entities; in URLs the converter percent-encodes them. */
const PLACEHOLDERS: ReadonlyArray<readonly [string, string, string]> = [
  ["&", "\uE000", "&amp;"],
  ["<", "\uE001", "&lt;"],
  [">", "\uE002", "&gt;"],
];

/** Markdown → mrkdwn (trailing newlines removed). Never throws: on a converter failure the escaped text is returned. */
export function toMrkdwn(markdown: string): string {
  try {
    let out = slackify(guard(markdown)).replace(/\n+$/, "");
    for (const [, mark, entity] of PLACEHOLDERS) {
      out = out.replaceAll(mark, entity).replaceAll(encodeURI(mark), entity);
    }
    return out;
  } catch {
    return escapeMrkdwn(markdown);
  }
}

/** Escapes `&`, `<`, `>` for plain mrkdwn text (Slack's three entities). */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The input with `&`, `<` and `>` replaced by placeholders, keeping autolinks and blockquote markers. */
function guard(markdown: string): string {
  return markdown
    .split("\n")
    .map((line) => {
      const quote = QUOTE_MARKERS.exec(line)?.[0] ?? "";
      let out = quote;
      for (let i = quote.length; i < line.length; i++) {
        const ch = line[i];
        const link = ch === "<" ? AUTOLINK.exec(line.slice(i, i + 2048)) : null;
        if (link) {
          out += link[0];
          i += link[0].length - 1;
        } else {
          out += ch === "&" ? "\uE000" : ch === "<" ? "\uE001" : ch === ">" ? "\uE002" : ch;
        }
      }
      return out;
    })
    .join("\n");
}

/**
 * A Markdown reply as mrkdwn messages of at most `maxChars` characters each (Slack: a section block's text
 * ≤ 3,000): split on the Markdown with the shared `splitText` (paragraph/line/word boundaries, code fences
 * closed and reopened), then converted part by part; a part whose mrkdwn came out longer (entities, link
 * syntax) is split again, smaller. Nothing is dropped. Earlier parts do not change as the text grows
 * (splitText's prefix stability), so streaming can finish messages one by one.
 */
export function layoutMrkdwn(markdown: string, maxChars: number): string[] {
  const out: string[] = [];
  const place = (part: string, limit: number): void => {
    const converted = cachedMrkdwn(part);
    if (converted.length <= maxChars || part.length <= 2) {
      out.push(converted.slice(0, maxChars));
      return;
    }
    const smaller = Math.max(2, Math.min(limit - 1, Math.floor((part.length * maxChars) / converted.length) - 8));
    for (const piece of splitText(part, smaller)) place(piece, smaller);
  };
  for (const part of splitText(markdown, maxChars)) place(part, maxChars);
  return out.filter((part, i) => part !== "" || i === 0);
}

/** Recent conversions: while a reply streams, its finished parts are converted once, not on every apply. */
const recent = new Map<string, string>();
const RECENT_MAX = 64;

function cachedMrkdwn(part: string): string {
  const hit = recent.get(part);
  if (hit !== undefined) return hit;
  const converted = toMrkdwn(part);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(part, converted);
  return converted;
}
