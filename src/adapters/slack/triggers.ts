/**
 * Pure decisions about one Slack event: should glmbot answer it, in which conversation, where does the reply
 * go, and which keys identify the delivery. No I/O: the adapter resolves the `thread` case (is it a thread
 * the bot answered?) with its store.
 *
 * Sources (Slack docs, /work/shared/docs/platform-limits.md): `app_mention` is not sent for DMs (use
 * `message.im`); an app that also subscribes to channel messages gets each mention twice (`app_mention` +
 * `message`, different `event_id`, same channel and `ts`); replies go to `thread_ts` = the message's
 * `thread_ts`, else its `ts`; the bot's own edits come back as `message_changed` events.
 */
import type { ConversationRef } from "../../core/ports.js";

/** The fields of an `app_mention` / `message` event that matter here. */
export interface SlackMessageEvent {
  type: string;
  subtype?: string;
  channel?: string;
  /** `im` (DM), `mpim` (group DM), `channel`, `group` (private channel); absent on `app_mention`. */
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts?: string;
  thread_ts?: string;
  team?: string;
  edited?: unknown;
  hidden?: boolean;
}

/** The envelope fields (Events API body / Socket Mode payload). */
export interface SlackEnvelope {
  team_id?: string;
  event_id?: string;
}

export interface TriggerPolicy {
  botUserId: string;
  botId?: string;
  allowedChannels: readonly string[];
  allowedUsers: readonly string[];
  dmPolicy: "open" | "allowlist" | "off";
  threadFollowUps: boolean;
}

/** Accepted: `mention` / `dm` answer at once; `thread` only if the bot answered in that thread. */
export interface Trigger {
  kind: "mention" | "dm" | "thread";
  team: string;
  channel: string;
  user: string;
  ts: string;
  /** Where the reply goes: the thread root; `undefined` = top level of a DM. */
  replyThreadTs: string | undefined;
  /** The thread root for the followed-thread check (`thread` kind) and for channels. */
  threadRoot: string;
  conversation: ConversationRef;
  text: string;
  /** Dedupe keys of this delivery: `event:<event_id>` (when known) and `msg:<team>:<channel>:<ts>`. */
  dedupeKeys: string[];
}

export type Decision = { answer: true; trigger: Trigger } | { answer: false; reason: string };

/** Message subtypes that are ordinary user messages; every other subtype (edits, deletes, joins, bot posts…) is ignored. */
const USER_SUBTYPES = new Set(["thread_broadcast", "file_share"]);

/** True when `text` mentions the user id (`<@U1>` or `<@U1|name>`). */
export function mentions(text: string, userId: string): boolean {
  return text.includes(`<@${userId}>`) || text.includes(`<@${userId}|`);
}

/**
 * Conversation keys (the only place they are built). A channel has no conversation of its own: every
 * thread in it is one (`slack:<team>:<channel>:<thread root ts>`, shared). A DM's top level is one
 * conversation (`slack:<team>:<dm channel>`), and each thread in the DM its own; both are direct.
 */
export function channelConversation(team: string, channel: string, threadRoot: string): ConversationRef {
  return { key: `slack:${team}:${channel}:${threadRoot}`, kind: "shared" };
}

/** A DM's conversation: its top level (no `threadRoot`) or one of its threads. See {@link channelConversation}. */
export function dmConversation(team: string, dmChannel: string, threadRoot?: string): ConversationRef {
  return { key: threadRoot === undefined ? `slack:${team}:${dmChannel}` : `slack:${team}:${dmChannel}:${threadRoot}`, kind: "direct" };
}

/**
 * A channel's top level, which is no conversation (see {@link channelConversation}): only for commands that
 * read no conversation state (`help`), since core's command call needs a place.
 */
export function channelTopLevel(team: string, channel: string): ConversationRef {
  return { key: `slack:${team}:${channel}`, kind: "shared" };
}

/** Decides whether (and how) to answer an `app_mention` or `message` event. */
export function decide(event: SlackMessageEvent, envelope: SlackEnvelope, policy: TriggerPolicy): Decision {
  const no = (reason: string): Decision => ({ answer: false, reason });
  if (event.type !== "app_mention" && event.type !== "message") return no("not a message event");
  if (event.subtype !== undefined && !USER_SUBTYPES.has(event.subtype)) return no(`subtype ${event.subtype}`);
  if (event.hidden || event.edited !== undefined) return no("edited or hidden");
  if (event.bot_id !== undefined || event.user === undefined) return no("from a bot");
  if (event.user === policy.botUserId) return no("own message");
  if (!event.channel || !event.ts) return no("no channel or ts");
  const team = envelope.team_id ?? event.team ?? "";
  const text = event.text ?? "";
  const isDm = event.type === "message" && event.channel_type === "im";
  const inThread = event.thread_ts !== undefined && event.thread_ts !== event.ts;
  const threadRoot = event.thread_ts ?? event.ts;
  let kind: Trigger["kind"];
  if (isDm) kind = "dm";
  else if (event.type === "app_mention" || mentions(text, policy.botUserId)) kind = "mention";
  else if (inThread && policy.threadFollowUps) kind = "thread";
  else return no("not addressed to the bot");

  const denied = accessDenied(policy, event.user, isDm ? undefined : event.channel);
  if (denied) return no(denied);

  const conversation = isDm ? dmConversation(team, event.channel, inThread ? threadRoot : undefined) : channelConversation(team, event.channel, threadRoot);
  const dedupeKeys = [`msg:${team}:${event.channel}:${event.ts}`];
  if (envelope.event_id) dedupeKeys.unshift(`event:${envelope.event_id}`);
  return {
    answer: true,
    trigger: {
      kind,
      team,
      channel: event.channel,
      user: event.user,
      ts: event.ts,
      replyThreadTs: isDm && !inThread ? undefined : threadRoot,
      threadRoot,
      conversation,
      text,
      dedupeKeys,
    },
  };
}

/**
 * Access control; the reason for a refusal, or undefined when allowed. `allowedUsers` (when not empty)
 * applies everywhere; `allowedChannels` (when not empty) to channels; DMs (`channel` undefined) follow
 * `dmPolicy`: `open` = every allowed user, `allowlist` = only users listed in `allowedUsers` (an empty
 * list then allows nobody), `off` = none.
 */
export function accessDenied(policy: Omit<TriggerPolicy, "botUserId" | "botId" | "threadFollowUps">, user: string, channel: string | undefined): string | undefined {
  const listed = policy.allowedUsers.includes(user);
  if (channel === undefined) {
    if (policy.dmPolicy === "off") return "DMs are off";
    if (policy.dmPolicy === "allowlist" && !listed) return "user not allowed to DM";
  } else if (policy.allowedChannels.length > 0 && !policy.allowedChannels.includes(channel)) {
    return "channel not allowed";
  }
  if (policy.allowedUsers.length > 0 && !listed) return "user not allowed";
  return undefined;
}
