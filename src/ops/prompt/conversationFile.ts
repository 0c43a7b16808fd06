/**
 * Reads a conversation for `glmbot prompt --conversation FILE.json`. Accepted shapes (JSON):
 * - the webhook's `GET /v1/conversations/{id}` answer: `{"conversation_id", "turns": [{"role", "author": {"id", "name"}, "text", …}]}`;
 * - a stored record: `{"systemPrompt"?, "turns": [{"role", "authorId", "authorName", "text", …}]}`;
 * - a plain chat: `{"system"?, "kind"?, "messages": [{"role": "user"|"assistant"|"system", "content" | "text", "name"?}]}`,
 *   or just the array of messages.
 * `kind` (`shared` | `direct`) says whether user turns carry the author's name (channels) or not (DMs, webhook).
 */
import { readFile } from "node:fs/promises";
import type { ConversationRef } from "../../core/ports.js";

/** A turn as glmbot stores it (the fields prompt building reads). */
export interface ConversationTurn {
  role: "user" | "assistant";
  authorId: string;
  authorName: string;
  text: string;
}

export interface Conversation {
  /** Where it came from, for the report (`conversation_id`, key or file name). */
  label: string;
  /** From the data, when it says so (`kind`, or `conversation_id` = webhook = direct). */
  kind?: ConversationRef["kind"];
  /** The conversation's own system prompt (`system` command / file), if any. */
  systemPrompt?: string;
  turns: ConversationTurn[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === "object" && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Normalizes parsed JSON. @throws Error naming the offending field, e.g. `turns[2].role: expected "user" or "assistant"`. */
export function parseConversation(data: unknown, label: string): Conversation {
  const root: Json = Array.isArray(data) ? { messages: data } : isObject(data) ? data : {};
  if (!isObject(data) && !Array.isArray(data)) throw new Error("expected a JSON object with turns or messages, or an array of messages");
  const listKey = Array.isArray(root.turns) ? "turns" : Array.isArray(root.messages) ? "messages" : undefined;
  if (!listKey) throw new Error('expected a "turns" or "messages" array');
  let systemPrompt = str(root.systemPrompt) ?? str(root.system);
  const turns: ConversationTurn[] = [];
  (root[listKey] as unknown[]).forEach((item, i) => {
    const at = `${listKey}[${i}]`;
    if (!isObject(item)) throw new Error(`${at}: expected an object`);
    const text = str(item.text) ?? str(item.content);
    if (text === undefined) throw new Error(`${at}: expected "text" or "content" (a string)`);
    if (item.role === "system") {
      if (turns.length > 0) throw new Error(`${at}: a system message may only come first`);
      systemPrompt = text;
      return;
    }
    if (item.role !== "user" && item.role !== "assistant") throw new Error(`${at}.role: expected "user" or "assistant"`);
    const author = isObject(item.author) ? item.author : {};
    const id = str(item.authorId) ?? str(author.id) ?? str(item.name) ?? (item.role === "user" ? "user" : "glmbot");
    const name = str(item.authorName) ?? str(author.name) ?? str(item.name) ?? id;
    turns.push({ role: item.role, authorId: id, authorName: name, text });
  });
  const kind = root.kind === "shared" || root.kind === "direct" ? root.kind : root.conversation_id !== undefined ? "direct" : undefined;
  if (root.kind !== undefined && kind === undefined) throw new Error('kind: expected "shared" or "direct"');
  const name = str(root.conversation_id) ?? str(root.key) ?? label;
  return { label: name, kind, systemPrompt, turns };
}

/** Reads and normalizes FILE. @throws Error with the file name and the problem (unreadable, invalid JSON, bad shape). */
export async function readConversationFile(file: string): Promise<Conversation> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON (${(err as Error).message})`);
  }
  try {
    return parseConversation(data, file);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Kind of a stored conversation key: webhook conversations are direct; otherwise `undefined` (ask the operator). */
export function kindOfKey(key: string): ConversationRef["kind"] | undefined {
  return key.startsWith("webhook:") ? "direct" : undefined;
}
