/**
 * What the adapter does with each inbound Slack delivery, after Bolt has acknowledged it:
 * - messages (`app_mention`, `message`): decide (triggers.ts) → followed-thread check → dedupe claim →
 *   prompt text (mentions resolved) → a command (`@bot reset`) or `service.submit(message, sink)`, in
 *   arrival order per conversation;
 * - the Stop button: cancels the job, for the asker only;
 * - the slash command (`/glm reset | system <text> | status | help`; in a channel only `help`, the others
 *   are about a thread and are pointed to `@glmbot <command>` in it).
 * Failures are shown with the shared `errorText` (common/notices.ts).
 * No conversation logic here: core decides everything about the conversation.
 */
import type { Clock } from "../../core/clock.js";
import { withFields, type Logger } from "../../core/logger.js";
import type { Command, ConversationRef, ConversationService, JobHandle, ReplySink } from "../../core/ports.js";
import { toGlmbotError } from "../common/errors.js";
import { KeyedChain } from "../common/KeyedChain.js";
import { NO_TEXT_HINT, errorText } from "../common/notices.js";
import { parseCommand } from "../common/parseCommand.js";
import { splitText } from "../common/splitText.js";
import { messagePayload } from "./blocks.js";
import type { SlackOptions } from "./config.js";
import { threadKey, type SlackStore } from "./dedupe.js";
import { escapeMrkdwn } from "./markdown.js";
import { NativeStreamSink } from "./NativeStreamSink.js";
import { mentionedUserIds, promptText } from "./promptText.js";
import type { SlackApi } from "./SlackApi.js";
import { SlackReplySink } from "./SlackReplySink.js";
import type { StatusIndicator } from "./status.js";
import { accessDenied, channelTopLevel, decide, dmConversation, type SlackEnvelope, type SlackMessageEvent, type Trigger, type TriggerPolicy } from "./triggers.js";
import type { UserDirectory } from "./users.js";

export interface InboundDeps {
  options: SlackOptions;
  service: ConversationService;
  api: SlackApi;
  store: SlackStore;
  users: UserDirectory;
  status: StatusIndicator;
  policy: TriggerPolicy;
  clock: Clock;
  log: Logger;
}

/** A reply in progress, by stop id. */
interface Active {
  asker: string;
  sink: SlackReplySink | NativeStreamSink;
  handle?: JobHandle;
  cancelled: boolean;
  done: Promise<unknown>;
}

/** Sends a response_url reply (Bolt's `respond`). */
export type Respond = (message: { text: string; response_type?: "ephemeral" | "in_channel"; replace_original?: boolean }) => Promise<unknown>;

export class Inbound {
  readonly #d: InboundDeps;
  readonly #active = new Map<string, Active>();
  /** Messages of one conversation reach core in arrival order (see {@link onMessage}). */
  readonly #inOrder = new KeyedChain();
  #nativeAvailable: boolean;
  #seq = 0;

  constructor(deps: InboundDeps) {
    this.#d = deps;
    this.#nativeAvailable = deps.options.streaming === "native";
  }

  /** Replies in progress (for stop()). */
  get active(): Active[] {
    return [...this.#active.values()];
  }

  /**
   * Handles an `app_mention` / `message` event. Resolves once the job is submitted (never waits for the reply).
   * Bolt runs listeners concurrently, and the awaits before `submit` (followed-thread check, dedupe claim,
   * users.info) take different times, so everything after the (synchronous) decision runs in a chain per
   * conversation key (team + channel + thread root; a DM's top level is one key): two messages of one
   * thread reach core in the order they arrived, and the `app_mention` + `message` pair of one mention is
   * claimed in order too. Different conversations do not wait for each other.
   */
  async onMessage(event: SlackMessageEvent, envelope: SlackEnvelope): Promise<void> {
    const decision = decide(event, envelope, this.#d.policy);
    if (!decision.answer) return this.#d.log.debug({ reason: decision.reason, type: event.type, subtype: event.subtype }, "Slack event ignored");
    const t = decision.trigger;
    await this.#inOrder.run(t.conversation.key, () => this.#handle(t));
  }

  async #handle(t: Trigger): Promise<void> {
    const { store } = this.#d;
    const log = this.#messageLog(t);
    if (t.kind === "thread" && !(await store.isFollowed(threadKey(t.team, t.channel, t.threadRoot)))) return;
    if (!(await store.claim(t.dedupeKeys))) return log.info({ keys: t.dedupeKeys }, "duplicate Slack delivery ignored");
    if (t.replyThreadTs !== undefined) {
      await store.followThread(threadKey(t.team, t.channel, t.replyThreadTs)).catch((err: unknown) => log.warn({ err }, "could not record the thread"));
    }
    const botUserId = this.#d.policy.botUserId;
    const names = await this.#d.users.names(mentionedUserIds(t.text).filter((id) => id !== botUserId));
    const text = promptText(t.text, botUserId, names);
    const author = { id: t.user, displayName: await this.#d.users.name(t.user) };
    const command = parseCommand(text);
    if (command) return this.#runCommand(t, t.conversation, command, author, log);
    if (text === "") return this.#post(t, NO_TEXT_HINT, log);
    await this.#submit(t, text, author, log);
  }

  /** A logger for lines about message `t`: its conversation key and ts, and `jobId` once `ids.jobId` is set. */
  #messageLog(t: Trigger, ids: { jobId?: string } = {}): Logger {
    return withFields(this.#d.log, () => ({ key: t.conversation.key, messageTs: t.ts, ...(ids.jobId ? { jobId: ids.jobId } : {}) }));
  }

  /** Handles a Stop button press by `userId` for the reply `stopId`. */
  async onStop(stopId: string, userId: string, respond: Respond): Promise<void> {
    const active = this.#active.get(stopId);
    if (!active) return void (await respond({ response_type: "ephemeral", replace_original: false, text: "This reply has already finished." }).catch(() => undefined));
    if (active.asker !== userId) {
      await respond({ response_type: "ephemeral", replace_original: false, text: `Only <@${active.asker}> can stop this reply.` }).catch(() => undefined);
      return;
    }
    active.cancelled = true;
    active.handle?.cancel();
  }

  /** Handles the slash command; answers ephemerally through `respond`. */
  async onSlashCommand(cmd: { text: string; user_id: string; channel_id: string; team_id: string }, respond: Respond): Promise<void> {
    const reply = (text: string) => respond({ response_type: "ephemeral", text }).then(() => undefined);
    const isDm = cmd.channel_id.startsWith("D");
    if (accessDenied(this.#d.policy, cmd.user_id, isDm ? undefined : cmd.channel_id)) return reply("🔒 glmbot is not available to you here.");
    const command: Command | undefined = cmd.text.trim() === "" ? { name: "help" } : parseCommand(cmd.text);
    if (!command) return reply(`Usage: ${this.#d.options.slashCommand} reset | system <text> | system reset | status | help`);
    // A channel has no conversation of its own (every thread is one), and a slash command does not say which
    // thread it is about: conversation commands, `status` included, are pointed to their thread form.
    if (!isDm && command.name !== "help") {
      return reply("In channels every thread is its own conversation: mention me in the thread with `reset`, `system <text>` or `status`.");
    }
    const conversation = isDm ? dmConversation(cmd.team_id, cmd.channel_id) : channelTopLevel(cmd.team_id, cmd.channel_id);
    const author = { id: cmd.user_id, displayName: await this.#d.users.name(cmd.user_id) };
    let text: string;
    try {
      text = await this.#d.service.command(conversation, command, author);
    } catch (err) {
      this.#d.log.error({ err, command: command.name }, "slash command failed");
      text = errorText(toGlmbotError(err));
    }
    await reply(text);
  }

  async #submit(t: Trigger, text: string, author: { id: string; displayName: string }, messageLog: Logger): Promise<void> {
    const { service } = this.#d;
    const stopId = `${t.channel}:${t.ts}:${++this.#seq}`;
    // The sink (and its API calls) log with the job id as soon as core has given one.
    const ids: { jobId?: string } = {};
    const log = this.#messageLog(t, ids);
    const sink = this.#sink(t, stopId, log);
    let settle!: () => void;
    const active: Active = { asker: t.user, sink, cancelled: false, done: new Promise<void>((r) => (settle = r)) };
    this.#active.set(stopId, active);
    const finish = () => {
      this.#active.delete(stopId);
      settle();
    };
    const message = { conversation: t.conversation, author, text, platformMessageIds: [t.ts] };
    try {
      const handle = await service.submit(message, sink as ReplySink);
      ids.jobId = handle.id;
      active.handle = handle;
      log.debug({}, "Slack message submitted");
      if (active.cancelled) handle.cancel();
      void handle.done.then(finish, finish);
    } catch (error) {
      const refusal = toGlmbotError(error);
      if (refusal.code === "internal_error") messageLog.error({ err: error }, "message could not be submitted");
      else messageLog.info({ code: refusal.code }, "message refused");
      await sink.fail(refusal).catch((err: unknown) => log.warn({ err }, "could not tell the user about a refusal"));
      finish();
    }
  }

  #sink(t: Trigger, stopId: string, log: Logger): SlackReplySink | NativeStreamSink {
    const { options, status, clock } = this.#d;
    const api = this.#d.api.withLogger(log);
    const common = { api, channel: t.channel, threadTs: t.replyThreadTs, stopId, intervalMs: options.updateIntervalMs, maxChars: options.maxMessageChars, status, clock, logger: log };
    if (this.#nativeAvailable && t.replyThreadTs !== undefined) {
      return new NativeStreamSink({
        ...common,
        threadTs: t.replyThreadTs,
        recipient: { teamId: t.team, userId: t.user },
        onUnavailable: () => void (this.#nativeAvailable = false),
      });
    }
    return new SlackReplySink(common);
  }

  async #runCommand(t: Trigger, conversation: ConversationRef, command: Command, author: { id: string; displayName: string }, log: Logger): Promise<void> {
    let text: string;
    try {
      text = await this.#d.service.command(conversation, command, author);
    } catch (err) {
      log.error({ err, command: command.name }, "command failed");
      text = errorText(toGlmbotError(err));
    }
    await this.#post(t, text, log);
  }

  /** Posts plain text (escaped, split within the limit) in the trigger's thread. */
  async #post(t: Trigger, text: string, log: Logger): Promise<void> {
    const api = this.#d.api.withLogger(log);
    for (const part of splitText(escapeMrkdwn(text), this.#d.options.maxMessageChars)) {
      await api
        .post({ channel: t.channel, thread_ts: t.replyThreadTs, ...messagePayload(part) })
        .catch((err: unknown) => log.warn({ err, channel: t.channel }, "could not post to Slack"));
    }
  }
}
