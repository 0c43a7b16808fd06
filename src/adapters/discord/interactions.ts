/**
 * Interactions: the `/glm` slash command and the stop button on streaming replies.
 * Every interaction is acknowledged within Discord's 3 s (a deferred reply or update first); failures are
 * logged and, where possible, answered with a short ephemeral notice.
 */
import type { EventEmitter } from "node:events";
import { MessageFlags, PermissionFlagsBits, type ButtonInteraction, type ChatInputCommandInteraction, type Interaction } from "discord.js";
import type { Logger } from "../../core/logger.js";
import type { ConversationService, JobHandle } from "../../core/ports.js";
import { toGlmbotError } from "../common/errors.js";
import { errorText } from "../common/notices.js";
import { DISCORD_MESSAGE_LIMIT, type DiscordReplySink } from "./DiscordReplySink.js";
import { SAFE_MENTIONS, parseStopCustomId } from "./channelTarget.js";
import type { DiscordOptions } from "./config.js";
import { interactionAuthor, interactionPlace } from "./messageFacts.js";
import { NOT_ALLOWED_TEXT, commandOf, isPrivateAnswer, needsManageGuild } from "./slashCommands.js";
import { conversationOf, isAllowed } from "./triggers.js";

/** A reply in progress, by the asker's message id. */
export interface ActiveJob {
  askerId: string;
  sink: DiscordReplySink;
  /** Set once `submit` has resolved. */
  handle?: JobHandle;
  /** The asker's message was deleted before the handle arrived. */
  deleted: boolean;
}

/** Adapter events, for logs, metrics and tests. */
export interface DiscordAdapterEvents {
  /** A message that gets no reply, and why (`duplicate` for a replayed message id). */
  ignored: [{ messageId: string; reason: string }];
  /** A message handed to core. */
  submitted: [{ messageId: string; key: string; jobId: string }];
  /** A message's reply is over: `delivered`, or `failed` with the error code (refusals included). */
  done: [{ messageId: string; key: string; result: "delivered" | "failed"; code?: string }];
  /** A text or slash command was answered. */
  command: [{ name: string; key: string; via: "text" | "slash" }];
}

export interface InteractionContext {
  options: DiscordOptions;
  service: ConversationService;
  logger: Logger;
  jobs: ReadonlyMap<string, ActiveJob>;
  events: EventEmitter<DiscordAdapterEvents>;
}

const EPHEMERAL = { flags: MessageFlags.Ephemeral, allowedMentions: SAFE_MENTIONS } as const;
const HELP_SUFFIX = "\nUse them as `/glm <command>`, or mention me followed by the command.";

/** The text shown for a command's answer (help gets the Discord usage line). */
export function commandAnswer(name: string, text: string): string {
  return (name === "help" ? text + HELP_SUFFIX : text).slice(0, DISCORD_MESSAGE_LIMIT);
}

/** Routes an interaction; anything not ours is ignored. Never rejects. */
export async function handleInteraction(ctx: InteractionContext, interaction: Interaction): Promise<void> {
  try {
    if (interaction.isChatInputCommand() && interaction.commandName === ctx.options.commands.name) await slashCommand(ctx, interaction);
    else if (interaction.isButton() && parseStopCustomId(interaction.customId) !== undefined) await stopButton(ctx, interaction);
  } catch (err) {
    ctx.logger.warn({ err, interactionId: interaction.id }, "discord: interaction failed");
  }
}

async function slashCommand(ctx: InteractionContext, interaction: ChatInputCommandInteraction): Promise<void> {
  const place = interactionPlace(interaction);
  if (!isAllowed(place, ctx.options)) {
    await interaction.reply({ content: "🔒 glmbot is not enabled for you here.", ...EPHEMERAL });
    return;
  }
  const command = commandOf(interaction.options.getSubcommand(), interaction.options.getString("text"));
  if (!command) {
    await interaction.reply({ content: "Unknown command. Try `/glm help`.", ...EPHEMERAL });
    return;
  }
  if (needsManageGuild(command) && interaction.inGuild() && !interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild)) {
    await interaction.reply({ content: NOT_ALLOWED_TEXT, ...EPHEMERAL });
    return;
  }
  await interaction.deferReply(isPrivateAnswer(command) ? { flags: MessageFlags.Ephemeral } : {});
  const conversation = conversationOf(place);
  const text = await ctx.service.command(conversation, command, interactionAuthor(interaction)).then(
    (answer) => commandAnswer(command.name, answer),
    (err: unknown) => {
      ctx.logger.warn({ err, command: command.name }, "discord: command failed");
      return errorText(toGlmbotError(err));
    },
  );
  await interaction.editReply({ content: text, allowedMentions: SAFE_MENTIONS });
  ctx.events.emit("command", { name: command.name, key: conversation.key, via: "slash" });
}

/** The stop button: the asker, or a member with Manage Server, aborts the generation (partial text stays). */
async function stopButton(ctx: InteractionContext, interaction: ButtonInteraction): Promise<void> {
  const job = ctx.jobs.get(parseStopCustomId(interaction.customId)!);
  if (!job?.handle) {
    await interaction.reply({ content: "This reply has already finished.", ...EPHEMERAL });
    return;
  }
  const manager = interaction.inGuild() && interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild);
  if (interaction.user.id !== job.askerId && !manager) {
    await interaction.reply({ content: "🔒 Only the person who asked (or a server manager) can stop this reply.", ...EPHEMERAL });
    return;
  }
  await interaction.deferUpdate();
  job.handle.cancel();
}
