/**
 * The `/glm` slash command: its definition (registered at start-up), the mapping of a subcommand to
 * core's {@link Command}, and who may run what.
 *
 * `/glm reset` · `/glm system text:<prompt>` (`text:reset` = back to the default) · `/glm status` · `/glm help`.
 * Discord has no per-subcommand permissions, so `system` checks Manage Server at run time (in guilds; in
 * a DM the conversation is the user's own).
 */
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import type { Command } from "../../core/ports.js";

/** Answer to `system` (slash or text form) from a guild member without Manage Server. */
export const NOT_ALLOWED_TEXT = "🔒 Only members with the Manage Server permission can change the system prompt here.";

/** Longest accepted system prompt text in the slash command, characters (Discord allows up to 6000). */
export const SYSTEM_TEXT_MAX = 4000;

/** The command definition for `PUT /applications/{app}/commands` (or a guild's commands). */
export function slashCommandDefinition(name: string): RESTPostAPIChatInputApplicationCommandsJSONBody {
  return {
    name,
    description: "Talk to glmbot: reset the conversation, set its system prompt, show its status",
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild, InteractionContextType.BotDM],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { type: ApplicationCommandOptionType.Subcommand, name: "reset", description: "Forget this conversation" },
      {
        type: ApplicationCommandOptionType.Subcommand,
        name: "system",
        description: "Set this conversation's system prompt (needs Manage Server); \"reset\" restores the default",
        options: [
          { type: ApplicationCommandOptionType.String, name: "text", description: "The system prompt, or reset", required: true, max_length: SYSTEM_TEXT_MAX },
        ],
      },
      { type: ApplicationCommandOptionType.Subcommand, name: "status", description: "Model, context use, stored turns and queue" },
      { type: ApplicationCommandOptionType.Subcommand, name: "help", description: "List the commands" },
    ],
  };
}

/** Core's command for a subcommand (and its `text` option); undefined for an unknown subcommand. */
export function commandOf(subcommand: string, text: string | null = null): Command | undefined {
  switch (subcommand) {
    case "reset":
    case "status":
    case "help":
      return { name: subcommand };
    case "system": {
      const value = (text ?? "").trim();
      return value.toLowerCase() === "reset" ? { name: "system_reset" } : { name: "system", text: value };
    }
    default:
      return undefined;
  }
}

/** Whether a command changes the system prompt (Manage Server required in guilds). */
export function needsManageGuild(command: Command): boolean {
  return command.name === "system" || command.name === "system_reset";
}

/** Whether the answer is shown only to the caller: yes for status and help; reset and system are announced. */
export function isPrivateAnswer(command: Command): boolean {
  return command.name === "status" || command.name === "help";
}
