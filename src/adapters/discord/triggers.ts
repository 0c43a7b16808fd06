/**
 * Pure decisions for inbound Discord messages (no discord.js here, so every rule is unit-tested):
 * should the bot answer, in which conversation, with what prompt text.
 *
 * Triggers (any one): an @mention of the bot (`<@id>`, legacy `<@!id>`, or the bot's managed role
 * `<@&roleId>`, which Discord's autocomplete sometimes inserts instead); a reply to one of the bot's
 * messages; every DM (per `dmPolicy`); a message in a thread where the bot has already answered; any
 * message in an `answerWithoutMention` channel. Never: the bot's own messages, other bots/webhooks
 * (`ignoreBots`), system messages, messages refused by the allowlists, or an empty prompt.
 */
import type { ConversationRef } from "../../core/ports.js";
import type { DiscordOptions } from "./config.js";

/** Where a message (or interaction) happens and who sent it. */
export interface Place {
  /** Absent in DMs. */
  guildId?: string;
  /** The channel, thread or DM channel id. */
  channelId: string;
  /** Threads: the parent channel id. */
  parentId?: string;
  /** The category of the channel (of the thread's parent, for threads). */
  categoryId?: string;
  isThread: boolean;
  userId: string;
  /** The member's role ids (guilds). */
  roleIds: readonly string[];
}

/** What the adapter knows about one MESSAGE_CREATE. */
export interface MessageFacts extends Place {
  authorIsBot: boolean;
  /** Not a Default (0) or Reply (19) message (joins, pins, boosts…). */
  system: boolean;
  content: string;
  /** A reply to a message the bot wrote. */
  repliesToBot: boolean;
}

/** The bot's identity in this guild. */
export interface BotIdentity {
  id: string;
  /** The bot's managed role in this guild, if known. */
  roleId?: string;
}

/** Display names for mentions of other users (`<@id>`), roles (`<@&id>`) and channels (`<#id>`). */
export interface MentionNames {
  users?: ReadonlyMap<string, string>;
  roles?: ReadonlyMap<string, string>;
  channels?: ReadonlyMap<string, string>;
}

export type TriggerOptions = Pick<DiscordOptions, "dmPolicy" | "ignoreBots" | "answerWithoutMention" | "access" | "autoThread">;

export type IgnoreReason = "own" | "bot" | "system" | "dm_off" | "denied" | "not_addressed" | "empty";

export type Decision =
  | { answer: false; reason: IgnoreReason; /** The bot was addressed with no text: answer with a hint. */ hint?: boolean }
  | {
      answer: true;
      via: "mention" | "reply" | "dm" | "thread" | "channel";
      conversation: ConversationRef;
      /** Prompt text: the bot's mention removed, other mentions as names. */
      text: string;
      /** `autoThread`: answer in a new thread started from this message. */
      newThread: boolean;
    };

/**
 * Decides whether to answer a message. `threadAnswered`: the bot already answered in this thread (the
 * adapter looks it up only for thread messages that nothing else triggers).
 */
export function decideMessage(facts: MessageFacts, bot: BotIdentity, options: TriggerOptions, names: MentionNames = {}, threadAnswered = false): Decision {
  if (facts.userId === bot.id) return { answer: false, reason: "own" };
  if (facts.authorIsBot && options.ignoreBots) return { answer: false, reason: "bot" };
  if (facts.system) return { answer: false, reason: "system" };
  if (facts.guildId === undefined && options.dmPolicy === "off") return { answer: false, reason: "dm_off" };
  if (!isAllowed(facts, options)) return { answer: false, reason: "denied" };

  const mentioned = mentionsBot(facts.content, bot);
  const via =
    facts.guildId === undefined ? "dm"
    : mentioned ? "mention"
    : facts.repliesToBot ? "reply"
    : inList(options.answerWithoutMention, facts.channelId, facts.parentId) ? "channel"
    : facts.isThread && threadAnswered ? "thread"
    : undefined;
  if (via === undefined) return { answer: false, reason: "not_addressed" };

  const text = promptText(facts.content, bot, names);
  if (text === "") return { answer: false, reason: "empty", hint: facts.content.trim() !== "" && (via === "mention" || via === "dm") };
  return { answer: true, via, conversation: conversationOf(facts), text, newThread: options.autoThread && facts.guildId !== undefined && !facts.isThread };
}

/**
 * Allowlists (empty = all): in guilds, the guild must be in `guildIds`, the channel, thread parent or
 * category in `channelIds`, and the user in `userIds` or holding a role in `roleIds` (either list, when
 * one is set). DMs: `dmPolicy` `open` allows everyone, `allowlist` only `userIds` (empty = nobody), `off` nobody.
 */
export function isAllowed(place: Place, options: Pick<TriggerOptions, "access" | "dmPolicy">): boolean {
  const { guildIds, channelIds, roleIds, userIds } = options.access;
  if (place.guildId === undefined) {
    if (options.dmPolicy === "off") return false;
    return options.dmPolicy === "open" || userIds.includes(place.userId);
  }
  if (guildIds.length > 0 && !guildIds.includes(place.guildId)) return false;
  if (channelIds.length > 0 && !inList(channelIds, place.channelId, place.parentId, place.categoryId)) return false;
  if (roleIds.length === 0 && userIds.length === 0) return true;
  return userIds.includes(place.userId) || place.roleIds.some((role) => roleIds.includes(role));
}

/**
 * The conversation of a place: `discord:<guild>:<channel>` for a channel, `discord:<guild>:<parent>:<thread>`
 * for a thread, `discord:dm:<dm channel>` for a DM (kind `direct`; guild conversations are `shared`).
 */
export function conversationOf(place: Pick<Place, "guildId" | "channelId" | "parentId" | "isThread">): ConversationRef {
  if (place.guildId === undefined) return { key: `discord:dm:${place.channelId}`, kind: "direct" };
  const channel = place.isThread && place.parentId ? `${place.parentId}:${place.channelId}` : place.channelId;
  return { key: `discord:${place.guildId}:${channel}`, kind: "shared" };
}

/** Whether `content` @mentions the bot (`<@id>`, `<@!id>`, or its managed role `<@&roleId>`). */
export function mentionsBot(content: string, bot: BotIdentity): boolean {
  return botMention(bot).test(content);
}

/**
 * The prompt text: every mention of the bot removed with the spaces around it (a single space stays
 * between words; nothing at the start or end of a line), a leading `,` or `:` after a leading mention
 * dropped (`@glmbot, hi` → `hi`), other mentions as `@Name` / `#channel` when known, then trimmed.
 * Other whitespace, line breaks and code blocks are kept as they are.
 */
export function promptText(content: string, bot: BotIdentity, names: MentionNames = {}): string {
  const runs = new RegExp(`[ \\t]*(?:(?:${botMention(bot).source})[ \\t]*)+`, "gu");
  let text = content.replace(runs, (run: string, offset: number, whole: string) => {
    const before = whole[offset - 1];
    const after = whole[offset + run.length];
    const edge = before === undefined || before === "\n" || after === undefined || after === "\n" || after === "\r";
    return edge ? "" : " ";
  });
  if (new RegExp(`^\\s*(?:${botMention(bot).source})`, "u").test(content)) text = text.replace(/^\s*[,:]\s*/u, "");
  text = text
    .replace(/<@!?(\d+)>/gu, (m, id: string) => (names.users?.has(id) ? `@${names.users.get(id)}` : m))
    .replace(/<@&(\d+)>/gu, (m, id: string) => (names.roles?.has(id) ? `@${names.roles.get(id)}` : m))
    .replace(/<#(\d+)>/gu, (m, id: string) => (names.channels?.has(id) ? `#${names.channels.get(id)}` : m));
  return text.trim();
}

function botMention(bot: BotIdentity): RegExp {
  const role = bot.roleId ? `|<@&${bot.roleId}>` : "";
  return new RegExp(`<@!?${bot.id}>${role}`, "u");
}

function inList(list: readonly string[], ...ids: Array<string | undefined>): boolean {
  return ids.some((id) => id !== undefined && list.includes(id));
}
