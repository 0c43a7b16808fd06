/**
 * The discord.js side of {@link ChannelTarget}: posting, editing and deleting the bot's messages in one
 * channel (text channel, thread or DM), with the stop button and safe `allowed_mentions`.
 */
import { ButtonStyle, ComponentType, RateLimitError, type APIActionRowComponent, type APIButtonComponent, type RateLimitData, type SendableChannels } from "discord.js";
import type { ChannelTarget, OutgoingMessage } from "./DiscordReplySink.js";

/** custom_id prefix of the stop buttons: `glmbot:stop:<asker's message id>`. */
export const STOP_PREFIX = "glmbot:stop:";

/** The stop button's custom_id for a job started by message `messageId`. */
export function stopCustomId(messageId: string): string {
  return `${STOP_PREFIX}${messageId}`;
}

/** The message id in a stop button's custom_id, or undefined for other components. */
export function parseStopCustomId(customId: string): string | undefined {
  return customId.startsWith(STOP_PREFIX) ? customId.slice(STOP_PREFIX.length) : undefined;
}

/**
 * Nobody is notified by what the model writes: no @everyone/@here, role or user pings (`parse: []`), and
 * no ping of the asker by the reply reference (edits never notify anyway, and the reply is posted at the
 * first token, long before it is complete).
 */
export const SAFE_MENTIONS = { parse: [], repliedUser: false } as const;

function stopRow(customId: string): APIActionRowComponent<APIButtonComponent> {
  return {
    type: ComponentType.ActionRow,
    components: [{ type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customId, label: "Stop", emoji: { name: "⏹️" } }],
  };
}

/** A {@link ChannelTarget} over a discord.js channel. Errors are discord.js's (DiscordAPIError, RateLimitError…). */
export function channelTarget(channel: SendableChannels): ChannelTarget {
  const body = (m: OutgoingMessage) => ({
    content: m.content,
    allowedMentions: SAFE_MENTIONS,
    components: m.stopButton ? [stopRow(m.stopButton)] : [],
  });
  return {
    sendTyping: () => channel.sendTyping(),
    async send(m) {
      const reply = m.replyTo ? { reply: { messageReference: m.replyTo, failIfNotExists: false } } : {};
      return (await channel.send({ ...body(m), ...reply })).id;
    },
    async edit(id, m) {
      await channel.messages.edit(id, body(m));
    },
    async delete(id) {
      await channel.messages.delete(id);
    },
  };
}

/**
 * Which rate limits discord.js should throw (as RateLimitError) instead of waiting them out itself: edits
 * of channel messages, so that the reply sink's pacer waits and then sends the newest text rather than a
 * stale one. Everything else (posting, typing, interactions) is queued and retried by discord.js.
 */
export function rejectEditRateLimits(data: RateLimitData): boolean {
  return data.method.toUpperCase() === "PATCH" && data.route.startsWith("/channels/");
}

/** The wait a RateLimitError asks for, ms (Discord's `Retry-After` / bucket reset); undefined for other errors. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof RateLimitError)) return undefined;
  return Math.max(error.retryAfter, error.timeToReset, error.sublimitTimeout ?? 0, 0);
}
