/**
 * The Discord adapter's options: the YAML section `discord:` ({@link DiscordSectionSchema}, every key with
 * its default) and the environment variables ({@link DISCORD_ENV}), resolved into {@link DiscordOptions}
 * by {@link resolveDiscordOptions}. The bot token is a secret: it comes from `DISCORD_TOKEN` (or the file
 * named by `DISCORD_TOKEN_FILE`), never from the YAML file. Without a token the adapter is off.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { GlmbotError } from "../../core/errors.js";

const snowflake = z.string({ invalid_type_error: "expected a Discord id (digits, as a string)" }).regex(/^\d{15,21}$/u, "expected a Discord id (15–21 digits, as a string)");
const ids = z.array(snowflake, { invalid_type_error: "expected a list of Discord ids" });
const int = (min: number, max: number) => z.number({ invalid_type_error: `expected integer ${min}–${max}` }).int().min(min).max(max);

/** Allowlists; an empty list allows all. A guild message must pass guilds, channels and who (users or roles). */
const accessSchema = z
  .object({
    guildIds: ids.default([]),
    /** Channel, thread-parent or category ids. */
    channelIds: ids.default([]),
    /** A member with any of these roles is allowed (as is anyone in userIds). */
    roleIds: ids.default([]),
    userIds: ids.default([]),
  })
  .strict();

const commandsSchema = z
  .object({
    register: z.boolean().default(true),
    /** The slash command's name (`/glm reset`). */
    name: z.string().regex(/^[a-z0-9_-]{1,32}$/u, "expected 1–32 lowercase letters, digits, - or _").default("glm"),
    /** `global` (every guild and DMs) or `guilds` (guildIds, or every guild the bot is in when empty; instant updates). */
    scope: z.enum(["global", "guilds"]).default("global"),
    guildIds: ids.default([]),
  })
  .strict();

/** The `discord:` YAML section: no secrets. */
export const DiscordSectionSchema = z
  .object({
    /** REST base URL without the version (discord.js `rest.api`); the gateway URL comes from `GET /gateway/bot`. */
    apiBase: z.string().url().default("https://discord.com/api"),
    /** Request the privileged MESSAGE_CONTENT intent (must also be enabled in the Developer Portal). */
    messageContentIntent: z.boolean().default(true),
    dmPolicy: z.enum(["open", "allowlist", "off"]).default("open"),
    /** Ignore messages from other bots and webhooks. The bot's own messages are always ignored. */
    ignoreBots: z.boolean().default(true),
    /** Channel (or thread-parent) ids where every message is answered, without a mention. */
    answerWithoutMention: ids.default([]),
    /** Answer a channel message in a new thread started from it, and continue there. */
    autoThread: z.boolean().default(false),
    /** Auto-archive after this many idle minutes: 60, 1440, 4320 or 10080. */
    autoThreadArchiveMinutes: z.union([z.literal(60), z.literal(1440), z.literal(4320), z.literal(10080)]).default(1440),
    /** Minimum time between two edits of a streaming message, ms (Discord allows about 5 edits per 5 s). */
    editIntervalMs: int(50, 60_000).default(1000),
    access: accessSchema.default({}),
    commands: commandsSchema.default({}),
    /** How long `start()` waits for the gateway to be ready, ms. */
    startupTimeoutMs: int(1000, 600_000).default(60_000),
  })
  .strict();

export type DiscordSection = z.infer<typeof DiscordSectionSchema>;
/** What the adapter runs with: the section plus the token. */
export type DiscordOptions = DiscordSection & { token: string };

/** Environment variables and the section keys they set (the token is not a section key). */
export const DISCORD_ENV = {
  DISCORD_TOKEN: "token",
  DISCORD_TOKEN_FILE: "token (read from this file)",
  DISCORD_API_BASE: "apiBase",
  DISCORD_MESSAGE_CONTENT_INTENT: "messageContentIntent",
  DISCORD_DM_POLICY: "dmPolicy",
  DISCORD_AUTO_THREAD: "autoThread",
} as const;

function envBool(value: string): boolean | string {
  return /^(true|1|yes)$/iu.test(value.trim()) ? true : /^(false|0|no)$/iu.test(value.trim()) ? false : value;
}

/**
 * Validates the `discord:` section (undefined = all defaults) with the environment applied over it.
 * Returns `undefined` when no token is set (the adapter is off).
 * @throws GlmbotError `config_invalid`, one line per problem naming the key and, when set from the
 *   environment, the variable (`discord.dmPolicy (from DISCORD_DM_POLICY): …`). The token is never quoted.
 */
export function resolveDiscordOptions(section: unknown, env: NodeJS.ProcessEnv = process.env): DiscordOptions | undefined {
  const raw: Record<string, unknown> = { ...((section ?? {}) as Record<string, unknown>) };
  const from = new Map<string, string>();
  const set = (key: string, variable: string, value: unknown) => {
    raw[key] = value;
    from.set(key, variable);
  };
  if (env.DISCORD_API_BASE) set("apiBase", "DISCORD_API_BASE", env.DISCORD_API_BASE.trim());
  if (env.DISCORD_MESSAGE_CONTENT_INTENT) set("messageContentIntent", "DISCORD_MESSAGE_CONTENT_INTENT", envBool(env.DISCORD_MESSAGE_CONTENT_INTENT));
  if (env.DISCORD_DM_POLICY) set("dmPolicy", "DISCORD_DM_POLICY", env.DISCORD_DM_POLICY.trim());
  if (env.DISCORD_AUTO_THREAD) set("autoThread", "DISCORD_AUTO_THREAD", envBool(env.DISCORD_AUTO_THREAD));

  const parsed = DiscordSectionSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.join(".");
      const where = from.has(String(issue.path[0])) ? ` (from ${from.get(String(issue.path[0]))})` : "";
      return `config: discord.${path}${where}: ${issue.code === "unrecognized_keys" ? issue.message.toLowerCase() : issue.message}`;
    });
    throw new GlmbotError("config_invalid", lines.join("\n"));
  }

  let token = env.DISCORD_TOKEN?.trim();
  if (!token && env.DISCORD_TOKEN_FILE) {
    try {
      token = readFileSync(env.DISCORD_TOKEN_FILE, "utf8").trim();
    } catch (err) {
      throw new GlmbotError("config_invalid", `config: DISCORD_TOKEN_FILE: cannot read file (${(err as NodeJS.ErrnoException).code ?? "read error"})`);
    }
  }
  if (!token) return undefined;
  return { ...parsed.data, token };
}
