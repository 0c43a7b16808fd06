/**
 * Core's {@link ReplySink} in `native` streaming mode: Slack's chat streaming (`chat.startStream` /
 * `chat.appendStream` / `chat.stopStream` through the SDK's `client.chatStream()` helper; Agents & AI Apps
 * feature, scope `assistant:write`; the stream needs a thread). Standard Markdown is streamed as is.
 *
 * - Status: `assistant.threads.setStatus` shows the queue position, then "is thinking…".
 * - Pacing: appends at most once per `intervalMs` (EditPacer; a 429 is waited out, and the SDK helper keeps
 *   the unsent text in its buffer, so the retry sends it once).
 * - Length: one streamed message holds up to {@link STREAM_MAX_CHARS} characters (markdown_text is limited to
 *   12,000 per call); it stops at a line or word boundary before that, and the rest of the reply follows in
 *   mrkdwn thread messages (layoutMrkdwn). An open code fence is closed and reopened across the cut.
 * - Stop: the asker gets an ephemeral message with the Stop button (a stream message has no blocks).
 * - Fallback: when the stream cannot start because the app lacks the feature (`missing_scope`,
 *   `unknown_method`, …), `onUnavailable` is called and this reply continues in `update` mode.
 * Exactly once: an append/start/post that fails without an answer is not repeated; `end` then rejects.
 */
import type { ChatStreamer } from "@slack/web-api";
import type { GlmbotError } from "../../core/errors.js";
import type { DeliveryReceipt, ReplyOutcome, ReplySink } from "../../core/ports.js";
import { EditPacer } from "../common/EditPacer.js";
import { EMPTY_REPLY_TEXT, errorText, queuePositionText, withFinishMarker } from "../common/notices.js";
import { messagePayload, stopBlock } from "./blocks.js";
import { escapeMrkdwn, layoutMrkdwn } from "./markdown.js";
import { slackErrorCode, UNAVAILABLE } from "./SlackApi.js";
import { retryAfterMs, SlackReplySink, type SlackReplySinkOptions } from "./SlackReplySink.js";

/** Characters per streamed message (below the 12,000 of a markdown message). */
export const STREAM_MAX_CHARS = 10_000;
const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

export interface NativeStreamSinkOptions extends SlackReplySinkOptions {
  threadTs: string;
  /** The asker: stream recipient and the only one who gets the Stop button. */
  recipient: { teamId: string; userId: string };
  /** Called with Slack's error when streaming is not available to this app. */
  onUnavailable(code: string): void;
  /** Default {@link STREAM_MAX_CHARS}. */
  maxStreamChars?: number;
}

export class NativeStreamSink implements ReplySink {
  readonly #o: NativeStreamSinkOptions;
  readonly #pacer: EditPacer<string>;
  readonly #cap: number;
  #fallback: SlackReplySink | undefined;
  #streamer: ChatStreamer | undefined;
  /** The model's text so far (what a fallback sink is given). */
  #reply = "";
  /** Characters of the shown text handed to the streamer. */
  #given = 0;
  /** Set once the stream message is full: where it ends. */
  #cut: number | undefined;
  #finishing = false;
  #stopped = false;
  #closeGiven = false;
  #broken: unknown;
  #stopShown = false;
  readonly #followUps: string[] = [];

  constructor(options: NativeStreamSinkOptions) {
    this.#o = options;
    this.#cap = options.maxStreamChars ?? STREAM_MAX_CHARS;
    this.#pacer = new EditPacer<string>({
      apply: (text) => this.#apply(text),
      intervalMs: options.intervalMs,
      clock: options.clock,
      retryAfterMs,
      onError: (err) => options.logger.warn({ err }, "Slack stream append failed"),
    });
  }

  queued(position: number): void {
    if (this.#fallback) return this.#fallback.queued(position);
    this.#o.status?.thinking(this.#o.channel, this.#o.threadTs, `is waiting (${queuePositionText(position)})`, this.#o.logger);
  }

  started(): void {
    if (this.#fallback) return this.#fallback.started();
    this.#o.status?.thinking(this.#o.channel, this.#o.threadTs, undefined, this.#o.logger);
    this.#showStop();
  }

  write(delta: string): void {
    this.#reply += delta;
    if (this.#fallback) this.#fallback.write(delta);
    else this.#pacer.update(this.#reply);
  }

  async end(outcome: ReplyOutcome): Promise<DeliveryReceipt> {
    if (!this.#fallback) {
      const reply = outcome.reply.trim() === "" ? EMPTY_REPLY_TEXT : outcome.reply;
      await this.#finish(withFinishMarker(reply, outcome.finishReason));
    }
    if (this.#fallback) return this.#fallback.end(outcome);
    return { platformMessageIds: [...(this.#streamer?.ts ? [this.#streamer.ts] : []), ...this.#followUps] };
  }

  async fail(error: GlmbotError): Promise<void> {
    if (!this.#fallback) {
      const notice = errorText(error);
      await this.#finish(this.#reply.trim() === "" ? notice : `${this.#reply}\n\n${notice}`);
    }
    if (this.#fallback) await this.#fallback.fail(error);
  }

  abandon(): void {
    this.#pacer.abandon();
    this.#fallback?.abandon();
  }

  async #finish(text: string): Promise<void> {
    // the final text normally extends what was streamed; if not, continue after the common part
    this.#given = commonPrefix(text, this.#reply.slice(0, this.#given));
    this.#finishing = true;
    try {
      await this.#pacer.finish(text);
    } finally {
      this.#o.status?.clear(this.#o.channel, this.#o.threadTs, this.#o.logger);
    }
  }

  /** Streams `text` up to the cap; when finishing, stops the stream and posts the rest as thread messages. */
  async #apply(text: string): Promise<void> {
    if (this.#broken) throw this.#broken;
    if (this.#fallback) return;
    const end = this.#cut ?? streamEnd(text, this.#given, this.#cap);
    if (end < text.length) this.#cut = end;
    const piece = text.slice(this.#given, end);
    this.#given = end;
    if (!this.#finishing) return this.#send(piece, false);
    const fence = this.#cut === undefined ? undefined : openFence(text.slice(0, this.#cut));
    if (!this.#stopped) {
      const close = fence && !this.#closeGiven ? `${text[end - 1] === "\n" ? "" : "\n"}${fence.marker}` : "";
      this.#closeGiven = true; // the SDK helper keeps unsent text buffered: a retry must not add it again
      await this.#send(piece + close, true);
      if (this.#fallback) return;
      this.#stopped = true;
    }
    if (this.#cut === undefined) return;
    const rest = (fence ? `${fence.marker}${fence.info}\n` : "") + text.slice(this.#cut);
    const parts = layoutMrkdwn(rest, this.#o.maxChars);
    const { api, channel, threadTs } = this.#o;
    for (let i = this.#followUps.length; i < parts.length; i++) {
      this.#followUps.push(await api.post({ channel, thread_ts: threadTs, ...messagePayload(parts[i]), unfurl_links: false }));
    }
  }

  /** Appends (or, with `stop`, appends and stops) through the SDK's chat stream helper. */
  async #send(piece: string, stop: boolean): Promise<void> {
    const { api, channel, threadTs, recipient } = this.#o;
    this.#streamer ??= api.web.chatStream({ channel, thread_ts: threadTs, recipient_team_id: recipient.teamId, recipient_user_id: recipient.userId, buffer_size: 1 });
    try {
      if (stop) await this.#streamer.stop({ markdown_text: piece });
      else await this.#streamer.append({ markdown_text: piece });
    } catch (error) {
      const code = slackErrorCode(error);
      if (this.#streamer.ts === undefined && code !== undefined && UNAVAILABLE.has(code)) return this.#switchToUpdates(code);
      if (retryAfterMs(error) === undefined && code === undefined) this.#broken = error;
      throw error;
    }
  }

  #switchToUpdates(code: string): void {
    this.#o.logger.info({ code }, "Slack chat streaming is not available to this app; using chat.update");
    this.#o.onUnavailable(code);
    this.#fallback = new SlackReplySink(this.#o);
    this.#fallback.started();
    if (this.#reply !== "") this.#fallback.write(this.#reply);
  }

  #showStop(): void {
    if (this.#stopShown) return;
    this.#stopShown = true;
    const { api, channel, threadTs, recipient, stopId, logger } = this.#o;
    const text = "Writing a reply… Press Stop to end it early.";
    void api.ephemeral(channel, recipient.userId, text, threadTs, [messagePayload(escapeMrkdwn(text)).blocks[0], stopBlock(stopId)]).catch((err: unknown) => logger.debug({ err }, "could not show the Stop button"));
  }
}

/** Where the stream may end for `text` (starting at `from`): all of it while it fits under `cap`, else the last line/word boundary. */
function streamEnd(text: string, from: number, cap: number): number {
  if (text.length <= cap) return text.length;
  const room = text.slice(0, cap);
  const line = room.lastIndexOf("\n");
  const space = Math.max(room.lastIndexOf(" "), room.lastIndexOf("\t"));
  let cut = line > cap / 2 ? line + 1 : space > cap / 2 ? space + 1 : cap;
  const code = text.charCodeAt(cut - 1);
  if (cut === cap && code >= 0xd800 && code <= 0xdbff) cut--; // never between the halves of a surrogate pair
  return Math.max(from, cut);
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** The fence (marker + info) open at the end of `text`, if any. */
export function openFence(text: string): { marker: string; info: string } | undefined {
  let fence: { marker: string; info: string } | undefined;
  const lines = text.split("\n");
  lines.pop(); // an unterminated last line does not open or close a fence yet
  for (const line of lines) {
    const match = FENCE_LINE.exec(line);
    if (!match) continue;
    if (!fence) fence = { marker: match[1], info: match[2].trim() };
    else if (match[1][0] === fence.marker[0] && match[1].length >= fence.marker.length && match[2].trim() === "") fence = undefined;
  }
  return fence;
}

