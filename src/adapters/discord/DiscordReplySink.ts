/**
 * Core's {@link ReplySink} for one Discord message: what the asker sees while the reply is queued,
 * generated and delivered. Platform calls go through a small {@link ChannelTarget} (discord.js in
 * production, a recorder in unit tests), all serialized and paced by an {@link EditPacer}.
 *
 * - Typing indicator from `open()` until reply text is visible, renewed every 8 s (it lasts 10 s). It is
 *   not renewed after the reply is posted: Discord has no "stop typing", so an indicator renewed during
 *   streaming would linger up to 10 s after the final edit; the growing message shows progress instead.
 * - `queued(n)`: posts (then edits) one message "⏳ #n in queue" as a reply to the asker, with a stop button.
 * - Text: posted as a reply at the first visible text (or into the queue message), then edited at most once
 *   per `editIntervalMs`; past 2000 characters (Discord refuses more: error 50035) the text continues in
 *   follow-up messages, split by {@link splitText} (parts before the last never change). The stop button
 *   stays on the last message while streaming.
 * - `end`: the complete text (with "⏹️ (stopped)" etc. when it did not end normally, or a fallback notice
 *   for an empty/whitespace-only reply), buttons removed. If that cannot be delivered, a short failure notice
 *   is attempted and `end` rejects, so core does not store the exchange.
 * - `fail`: the error's notice (after any partial text). A job dropped because the asker deleted their
 *   message (`discard()`) instead deletes what was posted.
 */
import type { Clock } from "../../core/clock.js";
import { systemClock } from "../../core/clock.js";
import { GlmbotError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "../../core/ports.js";
import { EditPacer } from "../common/EditPacer.js";
import { EMPTY_REPLY_TEXT, THINKING_TEXT, errorText, queuePositionText, withFinishMarker } from "../common/notices.js";
import { splitText } from "../common/splitText.js";

/** Discord's limit for a bot message's `content`, in characters (API error 50035 above it). */
export const DISCORD_MESSAGE_LIMIT = 2000;
/** A typing indicator lasts 10 s; it is renewed this often (ms). */
export const TYPING_RENEW_MS = 8000;

/** One message to post or edit. */
export interface OutgoingMessage {
  content: string;
  /** custom_id of a stop button to show; absent = no components (removes a button on edit). */
  stopButton?: string;
  /** Post as a reply to this message id (creates only). */
  replyTo?: string;
}

/** The channel operations a sink needs. Each rejects with the platform's error. */
export interface ChannelTarget {
  sendTyping(): Promise<void>;
  /** Posts a message; resolves with its id. */
  send(message: OutgoingMessage): Promise<string>;
  edit(messageId: string, message: OutgoingMessage): Promise<void>;
  delete(messageId: string): Promise<void>;
}

export interface DiscordReplySinkOptions {
  target: ChannelTarget;
  /** The asker's message id: the first message replies to it (absent in a new thread). */
  replyTo?: string;
  /** custom_id of this reply's stop button. */
  stopId: string;
  editIntervalMs: number;
  /** Rate-limit recognizer for the pacer (ms to wait, or undefined). */
  retryAfterMs?(error: unknown): number | undefined;
  logger: Logger;
  clock?: Clock;
  /** Characters per message; default {@link DISCORD_MESSAGE_LIMIT}. */
  limit?: number;
}

interface View {
  text: string;
  /** Streaming: the last message carries the stop button. */
  live: boolean;
}

export class DiscordReplySink implements ReplySink {
  readonly #o: DiscordReplySinkOptions & { clock: Clock; limit: number };
  readonly #pacer: EditPacer<View>;
  readonly #messages: Array<{ id: string; content: string; button: boolean }> = [];
  #text = "";
  #typing: unknown;
  #typingOn = false;
  #discarded = false;
  #settled = false;

  constructor(options: DiscordReplySinkOptions) {
    this.#o = { clock: systemClock, limit: DISCORD_MESSAGE_LIMIT, ...options };
    this.#pacer = new EditPacer<View>({
      apply: (view) => this.#apply(view),
      intervalMs: options.editIntervalMs,
      retryAfterMs: options.retryAfterMs,
      clock: this.#o.clock,
      onError: (err) => this.#o.logger.warn({ err }, "discord: could not update the reply"),
    });
  }

  /** Ids of the messages posted so far, in order. */
  get messageIds(): string[] {
    return this.#messages.map((m) => m.id);
  }

  /** Start the typing indicator (call when the message is accepted, before `submit`). */
  open(): void {
    if (this.#typingOn || this.#settled) return;
    this.#typingOn = true;
    const renew = () => {
      if (!this.#typingOn) return;
      this.#o.target.sendTyping().catch((err: unknown) => this.#o.logger.debug({ err }, "discord: typing indicator failed"));
      this.#typing = this.#o.clock.setTimeout(renew, TYPING_RENEW_MS);
    };
    renew();
  }

  /** The asker deleted their message: a later `fail` deletes whatever was posted instead of explaining. */
  discard(): void {
    this.#discarded = true;
  }

  /** Stop timers and pending edits at once (adapter shutdown). */
  close(): void {
    this.#stopTyping();
    this.#pacer.abandon();
  }

  queued(position: number): void {
    this.#pacer.update({ text: queuePositionText(position), live: true });
  }

  started(): void {
    if (this.#messages.length > 0) this.#pacer.update({ text: THINKING_TEXT, live: true });
  }

  write(delta: string): void {
    this.#text += delta;
    if (this.#text.trim() === "") return;
    this.#stopTyping();
    this.#pacer.update({ text: this.#text, live: true });
  }

  async end(outcome: ReplyOutcome): Promise<DeliveryReceipt> {
    this.#settle();
    const text = outcome.reply.trim() === "" ? EMPTY_REPLY_TEXT : withFinishMarker(outcome.reply, outcome.finishReason);
    try {
      await this.#pacer.finish({ text, live: false });
    } catch (err) {
      this.#o.logger.warn({ err, jobId: outcome.jobId }, "discord: the reply could not be delivered");
      const notice = errorText(new GlmbotError("delivery_failed", "The reply could not be delivered."));
      await this.#o.target.send({ content: notice, replyTo: this.#o.replyTo }).catch((e: unknown) =>
        this.#o.logger.warn({ err: e }, "discord: the failure notice could not be sent either"),
      );
      throw err;
    }
    return { platformMessageIds: this.messageIds };
  }

  async fail(error: GlmbotError): Promise<void> {
    this.#settle();
    const notice = errorText(error);
    const text = this.#discarded ? "" : this.#text.trim() === "" ? notice : `${this.#text.replace(/\s+$/u, "")}\n\n${notice}`;
    await this.#pacer.finish({ text, live: false }).catch((err: unknown) => this.#o.logger.warn({ err, code: error.code }, "discord: could not tell the user why there is no reply"));
  }

  #settle(): void {
    this.#settled = true;
    this.#stopTyping();
  }

  #stopTyping(): void {
    this.#typingOn = false;
    if (this.#typing !== undefined) this.#o.clock.clearTimeout(this.#typing);
    this.#typing = undefined;
  }

  /** Brings the posted messages in line with `view` (idempotent: only differences are sent). */
  async #apply(view: View): Promise<void> {
    const { target, stopId, replyTo, limit } = this.#o;
    // Discord refuses whitespace-only content (50006), so such parts are not posted.
    const parts = view.text === "" ? [] : splitText(view.text, limit).filter((part) => part.trim() !== "");
    for (const [i, content] of parts.entries()) {
      const button = view.live && i === parts.length - 1;
      const message: OutgoingMessage = { content, ...(button ? { stopButton: stopId } : {}) };
      const posted = this.#messages[i];
      if (!posted) {
        const id = await target.send({ ...message, ...(i === 0 && replyTo ? { replyTo } : {}) });
        this.#messages.push({ id, content, button });
      } else if (posted.content !== content || posted.button !== button) {
        await target.edit(posted.id, message);
        posted.content = content;
        posted.button = button;
      }
    }
    while (this.#messages.length > parts.length) {
      await target.delete(this.#messages[this.#messages.length - 1].id);
      this.#messages.pop();
    }
  }
}
