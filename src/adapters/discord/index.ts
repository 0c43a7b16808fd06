/**
 * The Discord adapter (discord.js v14): @mentions, replies, DMs and threads in → core; streamed, paced,
 * split replies out. The composition root needs {@link resolveDiscordOptions} and {@link createDiscordAdapter}.
 */
export { createDiscordAdapter, type DiscordAdapter, type DiscordAdapterOptions } from "./DiscordAdapter.js";
export { DISCORD_ENV, DiscordSectionSchema, resolveDiscordOptions, type DiscordOptions, type DiscordSection } from "./config.js";
export type { DiscordAdapterEvents } from "./interactions.js";
export { DISCORD_MESSAGE_LIMIT } from "./DiscordReplySink.js";
