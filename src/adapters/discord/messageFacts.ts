/**
 * Reads what the pure rules in `triggers.ts` need out of discord.js objects: where a message or interaction
 * happens, who sent it, what it replies to, and the display names of the mentions in it.
 */
import { MessageType, type Channel, type Guild, type Interaction, type Message } from "discord.js";
import type { MentionNames, MessageFacts, Place } from "./triggers.js";

/** Channel, thread parent and category ids of a channel (any may be unknown for an uncached channel). */
function channelIds(channel: Channel | null, channelId: string): Pick<Place, "channelId" | "parentId" | "categoryId" | "isThread"> {
  if (channel?.isThread()) {
    return { channelId, parentId: channel.parentId ?? undefined, categoryId: channel.parent?.parentId ?? undefined, isThread: true };
  }
  const categoryId = channel && "parentId" in channel ? (channel.parentId ?? undefined) : undefined;
  return { channelId, categoryId, isThread: false };
}

/** Facts about a MESSAGE_CREATE. `ownMessageIds`: ids of messages the bot posted (replies to them continue). */
export function messageFacts(message: Message, botId: string, ownMessageIds: { has(id: string): boolean }): MessageFacts {
  const referenced = message.reference?.messageId;
  return {
    guildId: message.guildId ?? undefined,
    ...channelIds(message.channel, message.channelId),
    userId: message.author.id,
    roleIds: message.member ? [...message.member.roles.cache.keys()] : [],
    authorIsBot: message.author.bot || message.webhookId !== null,
    system: message.type !== MessageType.Default && message.type !== MessageType.Reply,
    content: message.content ?? "",
    repliesToBot: referenced !== undefined && (message.mentions.repliedUser?.id === botId || ownMessageIds.has(referenced)),
  };
}

/** Where an interaction happens and who triggered it. */
export function interactionPlace(interaction: Interaction): Place {
  const member = interaction.member;
  const roleIds = member === null ? [] : Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  return {
    guildId: interaction.guildId ?? undefined,
    ...channelIds(interaction.channel, interaction.channelId ?? ""),
    userId: interaction.user.id,
    roleIds,
  };
}

/** The author as core sees it: the server nickname, else the global display name, else the username. */
export function authorOf(message: Message): { id: string; displayName: string } {
  return { id: message.author.id, displayName: message.member?.displayName ?? message.author.displayName };
}

/** The interaction's user, named as in {@link authorOf}. */
export function interactionAuthor(interaction: Interaction): { id: string; displayName: string } {
  const member = interaction.member;
  const nick = member && "displayName" in member ? member.displayName : undefined;
  return { id: interaction.user.id, displayName: nick ?? interaction.user.displayName };
}

/** Names of the users, roles and channels mentioned in a message (for `promptText`). */
export function mentionNames(message: Message): MentionNames {
  const users = new Map<string, string>();
  for (const user of message.mentions.users.values()) users.set(user.id, user.displayName);
  for (const member of message.mentions.members?.values() ?? []) users.set(member.id, member.displayName);
  const roles = new Map([...message.mentions.roles.values()].map((role) => [role.id, role.name] as const));
  const channels = new Map<string, string>();
  for (const channel of message.mentions.channels.values()) if ("name" in channel && channel.name) channels.set(channel.id, channel.name);
  return { users, roles, channels };
}

/** The bot's managed role in a guild (the role Discord's autocomplete may insert for "@glmbot"). */
export function botRoleId(guild: Guild | null, botId: string): string | undefined {
  return guild?.roles.botRoleFor(botId)?.id;
}
