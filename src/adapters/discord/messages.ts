/**
 * Inbound messages: MESSAGE_CREATE → trigger decision → text command or `service.submit` with a
 * {@link DiscordReplySink}; MESSAGE_DELETE drops a job that still waits. No conversation logic here.
 *
 * Exactly once: a message id is handled once — discord.js drops a replayed MESSAGE_CREATE while the
 * message is still cached, and {@link RecentIds} (in memory, 10 000 ids, 1 h) catches the rest; after a
 * restart a replay would be answered again. Messages of one channel reach core in arrival order.
 */
import type { EventEmitter } from "node:events";
import { PermissionFlagsBits, type GatewayDispatchPayload, type Message } from "discord.js";
import type { Clock } from "../../core/clock.js";
import { withFields, type Logger } from "../../core/logger.js";
import type { Command, ConversationService } from "../../core/ports.js";
import { toGlmbotError } from "../common/errors.js";
import { KeyedChain } from "../common/KeyedChain.js";
import { NO_TEXT_HINT, errorText } from "../common/notices.js";
import { parseCommand } from "../common/parseCommand.js";
import { RecentIds } from "../common/RecentIds.js";
import { splitText } from "../common/splitText.js";
import { DISCORD_MESSAGE_LIMIT, DiscordReplySink, type ChannelTarget } from "./DiscordReplySink.js";
import { channelTarget, retryAfterMs, stopCustomId } from "./channelTarget.js";
import type { DiscordOptions } from "./config.js";
import { commandAnswer, type ActiveJob, type DiscordAdapterEvents } from "./interactions.js";
import { authorOf, botRoleId, mentionNames, messageFacts } from "./messageFacts.js";
import { NOT_ALLOWED_TEXT, needsManageGuild } from "./slashCommands.js";
import { conversationOf, decideMessage, type Decision } from "./triggers.js";

type Answer = Extract<Decision, { answer: true }>;

export interface MessageHandlerDeps {
  options: DiscordOptions;
  service: ConversationService;
  logger: Logger;
  clock: Clock;
  events: EventEmitter<DiscordAdapterEvents>;
}

export class MessageHandler {
  /** Replies in progress, by the asker's message id (the stop button finds them here). */
  readonly jobs = new Map<string, ActiveJob>();
  readonly #o: DiscordOptions;
  readonly #service: ConversationService;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #events: EventEmitter<DiscordAdapterEvents>;
  readonly #seen = new RecentIds();
  /** Ids of messages the bot posted (replies to them continue the conversation). */
  readonly #own = new RecentIds();
  /** Threads the bot answered in (older ones are found again through core's history). */
  readonly #answeredThreads = new RecentIds({ max: 10_000, ttlMs: 7 * 24 * 3_600_000 });
  /** Messages of one channel reach core in arrival order. */
  readonly #inOrder = new KeyedChain();

  constructor(deps: MessageHandlerDeps) {
    this.#o = deps.options;
    this.#service = deps.service;
    this.#log = deps.logger;
    this.#clock = deps.clock;
    this.#events = deps.events;
  }

  /** Stops every sink's timers and pending edits (adapter shutdown). */
  close(): void {
    for (const job of this.jobs.values()) job.sink.close();
  }

  /** MESSAGE_CREATE. Never rejects. */
  async onMessage(message: Message): Promise<void> {
    const botId = message.client.user.id;
    if (message.author.id === botId) {
      this.#own.firstTime(message.id);
      return;
    }
    if (!this.#seen.firstTime(message.id)) return void this.#events.emit("ignored", { messageId: message.id, reason: "duplicate" });
    await this.#inOrder
      .run(message.channelId, () => this.#handle(message, botId))
      .catch((err: unknown) => this.#log.error({ err, messageId: message.id }, "discord: message handling failed"));
  }

  async #handle(message: Message, botId: string): Promise<void> {
    const facts = messageFacts(message, botId, this.#own);
    const bot = { id: botId, roleId: botRoleId(message.guild, botId) };
    const names = mentionNames(message);
    let decision = decideMessage(facts, bot, this.#o, names);
    if (!decision.answer && decision.reason === "not_addressed" && facts.isThread) {
      decision = decideMessage(facts, bot, this.#o, names, await this.#threadAnswered(facts.channelId, conversationOf(facts).key));
    }
    if (!decision.answer) {
      if (decision.hint) await this.#say(message, NO_TEXT_HINT);
      this.#events.emit("ignored", { messageId: message.id, reason: decision.reason });
      return;
    }
    const command = parseCommand(decision.text);
    if (command) return this.#textCommand(message, decision, command);
    await this.#submit(message, decision);
  }

  async #submit(message: Message, decision: Answer): Promise<void> {
    let channel = message.channel;
    let conversation = decision.conversation;
    let replyTo: string | undefined = message.id;
    let job: ActiveJob | undefined;
    // Every line about this message carries its id and conversation key, and the job id once core gave one.
    const log = withFields(this.#log, () => ({ key: conversation.key, messageId: message.id, ...(job?.handle ? { jobId: job.handle.id } : {}) }));
    if (decision.newThread && message.inGuild()) {
      try {
        const thread = await message.startThread({ name: threadName(decision.text), autoArchiveDuration: this.#o.autoThreadArchiveMinutes });
        channel = thread;
        replyTo = undefined;
        conversation = conversationOf({ guildId: message.guildId, channelId: thread.id, parentId: message.channelId, isThread: true });
      } catch (err) {
        log.warn({ err, channelId: message.channelId }, "discord: could not start a thread; answering in the channel");
      }
    }
    if (!channel.isSendable()) return void this.#events.emit("ignored", { messageId: message.id, reason: "not_sendable" });
    if (channel.isThread()) this.#answeredThreads.firstTime(channel.id);
    const sink = new DiscordReplySink({
      target: this.#tracked(channelTarget(channel)),
      replyTo,
      stopId: stopCustomId(message.id),
      editIntervalMs: this.#o.editIntervalMs,
      retryAfterMs,
      logger: log,
      clock: this.#clock,
    });
    job = { askerId: message.author.id, sink, deleted: false };
    this.jobs.set(message.id, job);
    sink.open();
    const key = conversation.key;
    try {
      job.handle = await this.#service.submit(
        { conversation, author: authorOf(message), text: decision.text, platformMessageIds: [message.id] },
        sink,
      );
    } catch (err) {
      this.jobs.delete(message.id);
      const error = toGlmbotError(err);
      await sink.fail(error);
      return void this.#events.emit("done", { messageId: message.id, key, result: "failed", code: error.code });
    }
    const handle = job.handle;
    log.debug({}, "discord: message submitted");
    if (job.deleted) this.#dropIfWaiting(job);
    this.#events.emit("submitted", { messageId: message.id, key, jobId: handle.id });
    void handle.done.then((result) => {
      this.jobs.delete(message.id);
      const failed = "error" in result;
      this.#events.emit("done", { messageId: message.id, key, result: failed ? "failed" : "delivered", ...(failed ? { code: result.error.code } : {}) });
    });
  }

  async #textCommand(message: Message, decision: Answer, command: Command): Promise<void> {
    const manager = !message.inGuild() || (message.member?.permissions.has(PermissionFlagsBits.ManageGuild) ?? false);
    if (needsManageGuild(command) && !manager) return this.#say(message, NOT_ALLOWED_TEXT);
    const text = await this.#service.command(decision.conversation, command, authorOf(message)).then(
      (answer) => commandAnswer(command.name, answer),
      (err: unknown) => errorText(toGlmbotError(err)),
    );
    await this.#say(message, text);
    this.#events.emit("command", { name: command.name, key: decision.conversation.key, via: "text" });
  }

  /** Posts a short answer as a reply (split if long); failures are logged. */
  async #say(message: Message, text: string): Promise<void> {
    if (!message.channel.isSendable()) return;
    const target = this.#tracked(channelTarget(message.channel));
    try {
      for (const [i, content] of splitText(text, DISCORD_MESSAGE_LIMIT).entries()) await target.send({ content, ...(i === 0 ? { replyTo: message.id } : {}) });
    } catch (err) {
      this.#log.warn({ err, channelId: message.channelId, messageId: message.id }, "discord: could not answer");
    }
  }

  /** A target that remembers the ids of posted messages (so replies to them are recognized). */
  #tracked(target: ChannelTarget): ChannelTarget {
    return {
      ...target,
      send: async (m) => {
        const id = await target.send(m);
        this.#own.firstTime(id);
        return id;
      },
    };
  }

  async #threadAnswered(threadId: string, key: string): Promise<boolean> {
    if (this.#answeredThreads.has(threadId)) return true;
    const turns = await this.#service.history(key).catch(() => []);
    const answered = turns.some((turn) => turn.role === "assistant");
    if (answered) this.#answeredThreads.firstTime(threadId);
    return answered;
  }

  /** MESSAGE_DELETE / MESSAGE_DELETE_BULK from the raw gateway (works for uncached messages too). */
  onRaw(packet: GatewayDispatchPayload): void {
    const ids = packet.t === "MESSAGE_DELETE" ? [packet.d.id] : packet.t === "MESSAGE_DELETE_BULK" ? packet.d.ids : [];
    for (const id of ids) {
      const job = this.jobs.get(id);
      if (!job) continue;
      job.deleted = true;
      this.#dropIfWaiting(job);
    }
  }

  #dropIfWaiting(job: ActiveJob): void {
    if (!job.handle || job.handle.position() === 0) return;
    job.sink.discard();
    job.handle.cancel();
  }
}

/** A thread name from the prompt: its first line, at most 80 characters (Discord allows 100). */
function threadName(text: string): string {
  const line = text.split("\n", 1)[0].trim();
  return (line.length > 80 ? `${line.slice(0, 79)}…` : line) || "glmbot";
}
