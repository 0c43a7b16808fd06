/**
 * Core's {@link ReplySink} for one Slack message, in `update` mode: post once, then `chat.update` at most
 * once per `intervalMs` (the shared EditPacer; a 429 is waited out for its `Retry-After`), Markdown converted
 * to mrkdwn, long replies continued in follow-up thread messages of at most `maxChars` (layoutMrkdwn).
 *
 * What the user sees: `⏳ #3 in queue` while waiting, `💭 Thinking…` once started, then the reply growing;
 * the last message carries a Stop button until the end. The final state has the whole reply (plus
 * `⏹️ (stopped)` / `⏱️ …` / `✂️ …` when it did not end normally), or the error text on `fail`.
 *
 * Exactly once: a chat.postMessage that fails with anything but a 429 or an `ok: false` answer (network
 * error, timeout, HTTP 5xx: the message may exist) is never blindly repeated: the message is looked up
 * first (see #postOnce); if that is impossible the sink stops and `end` rejects (core then does not store
 * the exchange). Updates are idempotent and simply retried by the next apply.
 */
import type { Clock } from "../../core/clock.js";
import type { GlmbotError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "../../core/ports.js";
import { EditPacer } from "../common/EditPacer.js";
import { EMPTY_REPLY_TEXT, THINKING_TEXT, errorText, queuePositionText, withFinishMarker } from "../common/notices.js";
import { messagePayload } from "./blocks.js";
import { escapeMrkdwn, layoutMrkdwn } from "./markdown.js";
import { slackErrorCode, type SlackApi } from "./SlackApi.js";
import type { StatusIndicator } from "./status.js";

export interface SlackReplySinkOptions {
  api: SlackApi;
  channel: string;
  /** Thread to reply in; undefined = top level (a DM). */
  threadTs: string | undefined;
  /** Value of the Stop button. */
  stopId: string;
  /** Min ms between two applies (edits/posts) of this reply. */
  intervalMs: number;
  /** Max characters per message (≤ 3,000). */
  maxChars: number;
  status?: StatusIndicator;
  clock: Clock;
  logger: Logger;
}

/** Desired state: the mrkdwn of each message (computed when applied); `live` = the last one has the Stop button. */
interface View {
  parts: () => string[];
  live: boolean;
}

interface Posted {
  ts: string;
  /** What was last sent (text + whether it had the button). */
  shown: string;
}

/** A post whose outcome is unknown: it must not be repeated. */
class UncertainPost extends Error {}

export class SlackReplySink implements ReplySink {
  readonly #o: SlackReplySinkOptions;
  readonly #pacer: EditPacer<View>;
  readonly #posted: Posted[] = [];
  #text = "";
  #notice = "";
  #broken: unknown;

  constructor(options: SlackReplySinkOptions) {
    this.#o = options;
    this.#pacer = new EditPacer<View>({
      apply: (view) => this.#apply(view),
      intervalMs: options.intervalMs,
      clock: options.clock,
      retryAfterMs: (error) => retryAfterMs(error),
      onError: (err) => options.logger.warn({ err, channel: options.channel }, "Slack reply update failed"),
    });
  }

  /** Message timestamps posted so far, oldest first. */
  get messageIds(): string[] {
    return this.#posted.map((p) => p.ts);
  }

  queued(position: number): void {
    this.#notice = queuePositionText(position);
    this.#show();
  }

  started(): void {
    this.#notice = THINKING_TEXT;
    this.#o.status?.thinking(this.#o.channel, this.#o.threadTs, undefined, this.#o.logger);
    this.#show();
  }

  write(delta: string): void {
    this.#text += delta;
    this.#show();
  }

  async end(outcome: ReplyOutcome): Promise<DeliveryReceipt> {
    const reply = outcome.reply.trim() === "" ? EMPTY_REPLY_TEXT : outcome.reply;
    const parts = layoutMrkdwn(withFinishMarker(reply, outcome.finishReason), this.#o.maxChars);
    try {
      await this.#pacer.finish({ parts: () => parts, live: false });
    } catch (error) {
      await this.#tellDeliveryFailure();
      throw error;
    } finally {
      this.#o.status?.clear(this.#o.channel, this.#o.threadTs, this.#o.logger);
    }
    return { platformMessageIds: this.messageIds };
  }

  async fail(error: GlmbotError): Promise<void> {
    const notice = escapeMrkdwn(errorText(error));
    const text = this.#text;
    const parts = () => (text.trim() === "" ? [notice] : [...layoutMrkdwn(text, this.#o.maxChars), notice]);
    try {
      await this.#pacer.finish({ parts, live: false });
    } finally {
      this.#o.status?.clear(this.#o.channel, this.#o.threadTs, this.#o.logger);
    }
  }

  /** Drops pending work (adapter stopping); a pending `end`/`fail` rejects. */
  abandon(): void {
    this.#pacer.abandon();
  }

  #show(): void {
    const text = this.#text;
    const notice = this.#notice;
    this.#pacer.update({ parts: () => (text === "" ? [escapeMrkdwn(notice)] : layoutMrkdwn(text, this.#o.maxChars)), live: true });
  }

  /** Brings Slack up to `view`: update changed messages, post missing ones, delete surplus ones (final only). */
  async #apply(view: View): Promise<void> {
    if (this.#broken) throw this.#broken;
    const { api, channel, stopId } = this.#o;
    const parts = view.parts();
    for (let i = 0; i < parts.length; i++) {
      const stop = view.live && i === parts.length - 1 ? stopId : undefined;
      const payload = messagePayload(parts[i], stop);
      const shown = `${stop ? "1" : "0"}${payload.text}`;
      const posted = this.#posted[i];
      if (posted) {
        if (posted.shown === shown) continue;
        await api.web.chat.update({ channel, ts: posted.ts, ...payload });
        posted.shown = shown;
        continue;
      }
      this.#posted.push({ ts: await this.#postOnce(payload), shown });
    }
    if (!view.live) {
      while (this.#posted.length > parts.length) {
        const surplus = this.#posted.pop()!;
        await api.web.chat.delete({ channel, ts: surplus.ts }).catch((err: unknown) => this.#o.logger.warn({ err }, "could not delete a surplus reply message"));
      }
    }
  }

  /**
   * Posts one message, exactly once: a failure with a Slack answer (429, `ok: false`) means nothing was
   * posted and is thrown (the pacer applies again); a failure without one (network, timeout, 5xx) is
   * resolved by looking the message up (conversations.replies/history) — found: its ts is used; not there:
   * posted once more; lookup failing too: the sink stops (never a blind repeat).
   */
  async #postOnce(payload: ReturnType<typeof messagePayload>): Promise<string> {
    const { api, channel, threadTs, clock } = this.#o;
    for (let attempt = 1; ; attempt++) {
      const sentAt = clock.now();
      try {
        const result = await api.web.chat.postMessage({ channel, thread_ts: threadTs, ...payload, unfurl_links: false, unfurl_media: false });
        return String(result.ts);
      } catch (error) {
        if (retryAfterMs(error) !== undefined || slackErrorCode(error) !== undefined) throw error;
        const found = attempt < 2 ? await api.findPost(channel, threadTs, payload.text, sentAt).catch(() => undefined) : undefined;
        if (found) return found;
        if (found === undefined) {
          this.#broken = new UncertainPost("chat.postMessage failed without an answer and could not be checked; not repeating it", { cause: error });
          throw this.#broken;
        }
        this.#o.logger.info({ channel }, "a failed chat.postMessage did not post; posting once more");
      }
    }
  }

  /** Best effort: say in the thread that the reply could not be delivered (unless a post is uncertain). */
  async #tellDeliveryFailure(): Promise<void> {
    if (this.#broken instanceof UncertainPost) return;
    const text = escapeMrkdwn(errorText({ code: "delivery_failed", message: "", details: {} }));
    await this.#o.api
      .post({ channel: this.#o.channel, thread_ts: this.#o.threadTs, ...messagePayload(text) })
      .catch((err: unknown) => this.#o.logger.warn({ err }, "could not tell the user about a failed delivery"));
  }
}

/** Milliseconds to wait for a Slack 429 (`Retry-After` seconds); undefined for other errors. */
export function retryAfterMs(error: unknown): number | undefined {
  if (slackErrorCode(error) !== "ratelimited") return undefined;
  const seconds = (error as { retryAfter?: number }).retryAfter;
  return typeof seconds === "number" ? Math.max(0, seconds) * 1000 : 1000;
}
