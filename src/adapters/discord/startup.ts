/**
 * Start-up chores of the Discord adapter: the gateway intents (and the one log line explaining them),
 * turning login failures into actionable config errors, and registering the slash command.
 */
import { GatewayIntentBits, type Client } from "discord.js";
import { GlmbotError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { DiscordOptions } from "./config.js";
import { slashCommandDefinition } from "./slashCommands.js";

/**
 * Intents: Guilds (channels, threads, roles), GuildMessages, DirectMessages and, unless turned off, the
 * privileged MessageContent. Returns the bit list and a log line saying what the choice means.
 */
export function intentSummary(messageContent: boolean): { intents: GatewayIntentBits[]; line: string } {
  const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages];
  if (messageContent) {
    intents.push(GatewayIntentBits.MessageContent);
    return {
      intents,
      line:
        "discord: intents Guilds, GuildMessages, DirectMessages, MessageContent (privileged: must be enabled under Bot → " +
        "Privileged Gateway Intents, or the gateway closes with 4014) — mentions, DMs, replies to the bot, thread follow-ups " +
        "and answerWithoutMention channels all work",
    };
  }
  return {
    intents,
    line:
      "discord: intents Guilds, GuildMessages, DirectMessages; MessageContent is OFF — guild messages that do not @mention " +
      "the bot arrive with empty text, so only mentions and DMs are answered (replies without a mention, thread follow-ups " +
      "and answerWithoutMention channels are ignored); set discord.messageContentIntent: true to enable them",
  };
}

/** A GlmbotError `config_invalid` that says what to fix, for a failed login or a start-up timeout. */
export function loginError(err: unknown, timeoutMs: number): GlmbotError {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  let text: string;
  if (code === "TokenInvalid" || /401|unauthori[sz]ed|invalid token/iu.test(message)) {
    text = "Discord refused the bot token: check DISCORD_TOKEN (Developer Portal → your application → Bot → Reset Token).";
  } else if (/disallowed intents/iu.test(message)) {
    text =
      "Discord refused the MessageContent intent (close code 4014): enable Message Content Intent under Bot → Privileged " +
      "Gateway Intents in the Developer Portal, or set discord.messageContentIntent: false.";
  } else if (/no READY within/u.test(message)) {
    text = `Discord did not become ready within ${timeoutMs} ms: check DISCORD_API_BASE and the network.`;
  } else {
    text = `Discord login failed: ${message}`;
  }
  return new GlmbotError("config_invalid", text, {}, { cause: err });
}

/**
 * Registers `/glm` (bulk overwrite of the application's commands): globally, or per guild (the listed
 * guilds, or every guild the bot is in when the list is empty, plus guilds it joins later). Failures are
 * logged, not thrown: the text commands (`@glmbot reset`) keep working.
 */
export async function registerCommands(client: Client<true>, options: DiscordOptions["commands"], log: Logger): Promise<void> {
  if (!options.register) return;
  const definition = slashCommandDefinition(options.name);
  const register = async (guildId?: string) => {
    try {
      if (guildId === undefined) await client.application.commands.set([definition]);
      else await client.application.commands.set([definition], guildId);
      log.info({ command: options.name, guildId: guildId ?? "global" }, "discord: slash command registered");
    } catch (err) {
      log.warn({ err, guildId }, "discord: could not register the slash command (is the applications.commands scope granted?)");
    }
  };
  if (options.scope === "global") return register();
  const guildIds = options.guildIds.length > 0 ? options.guildIds : [...client.guilds.cache.keys()];
  for (const guildId of guildIds) await register(guildId);
  if (options.guildIds.length === 0) client.on("guildCreate", (guild) => void register(guild.id));
}
