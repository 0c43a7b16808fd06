/**
 * The Web API calls the adapter makes, over its own WebClient (not Bolt's, whose options Socket Mode
 * mutates to 100 retries):
 * - automatic retries are off (`retryConfig: {retries: 0}`): a network error or 5xx on chat.postMessage may
 *   have posted the message, and a blind retry would post the reply twice;
 * - HTTP 429 is rejected at once by the client (`rejectRateLimitedCalls`) and waited out here for
 *   `Retry-After` seconds on the injected clock, then the call is repeated (a 429 means Slack did nothing),
 *   at most `maxRateLimitWaits` times; `close()` ends every wait (rejecting with `shutting_down`);
 * - each request times out after `timeoutMs` (default 30 s), so nothing hangs.
 * Errors: the WebClient's errors (platform errors carry `data.error`, see {@link slackErrorCode}).
 */
import { WebClient, ErrorCode as WebErrorCode, type ChatPostMessageArguments, type ChatUpdateArguments } from "@slack/web-api";
import type { Clock } from "../../core/clock.js";
import { GlmbotError } from "../../core/errors.js";
import type { Logger } from "../../core/logger.js";

export interface SlackApiOptions {
  token: string;
  /** Web API base, e.g. `https://slack.com/api/`. */
  apiUrl: string;
  clock: Clock;
  logger: Logger;
  /** Default 5. */
  maxRateLimitWaits?: number;
  /** Per request, ms; default 30 000. */
  timeoutMs?: number;
}

/** The Slack error string of a failed call (`msg_too_long`, `missing_scope`, `ratelimited`…), if any. */
export function slackErrorCode(error: unknown): string | undefined {
  const e = error as { code?: string; data?: { error?: string } } | undefined;
  if (e?.code === WebErrorCode.RateLimitedError) return "ratelimited";
  return typeof e?.data?.error === "string" ? e.data.error : undefined;
}

/** Errors meaning "this app cannot use that method" (scope, feature, token type). */
export const UNAVAILABLE = new Set(["missing_scope", "not_allowed_token_type", "unknown_method", "not_allowed", "feature_not_enabled", "team_not_allowed", "method_deprecated", "invalid_auth", "no_permission", "access_denied"]);

/** @internal State shared by a SlackApi and its {@link SlackApi.withLogger} views. */
export interface SlackApiShared {
  web: WebClient;
  clock: Clock;
  maxWaits: number;
  waits: Set<{ timer: unknown; reject: (error: Error) => void }>;
  closed: boolean;
  self: { userId: string; botId?: string };
}

export class SlackApi {
  readonly web: WebClient;
  readonly #s: SlackApiShared;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #maxWaits: number;
  readonly #waits: SlackApiShared["waits"];

  /** `shared` is internal: {@link withLogger} passes its own state to make a view. */
  constructor(options: SlackApiOptions, shared?: SlackApiShared) {
    this.#log = options.logger;
    this.#s = shared ?? {
      web: new WebClient(options.token, {
        slackApiUrl: options.apiUrl,
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: options.timeoutMs ?? 30_000,
        logger: boltQuietLogger(options.logger),
      }),
      clock: options.clock,
      maxWaits: options.maxRateLimitWaits ?? 5,
      waits: new Set(),
      closed: false,
      self: { userId: "" },
    };
    this.web = this.#s.web;
    this.#clock = this.#s.clock;
    this.#maxWaits = this.#s.maxWaits;
    this.#waits = this.#s.waits;
  }

  /** The bot's identity (from auth.test), used to recognise its own messages (shared with every view). */
  get self(): { userId: string; botId?: string } {
    return this.#s.self;
  }
  set self(value: { userId: string; botId?: string }) {
    this.#s.self = value;
  }

  /**
   * The same client (one WebClient, shared rate-limit waits, `close()` and `self`) whose own log lines
   * (e.g. "Slack rate limit: waiting") go to `logger` — a job's logger, so they carry its `jobId`.
   */
  withLogger(logger: Logger): SlackApi {
    return new SlackApi({ token: "", apiUrl: "", clock: this.#clock, logger }, this.#s);
  }

  /** chat.postMessage; resolves with the new message's `ts`. */
  async post(args: ChatPostMessageArguments): Promise<string> {
    const result = await this.call(() => this.web.chat.postMessage(args));
    return String(result.ts);
  }

  async update(args: ChatUpdateArguments): Promise<void> {
    await this.call(() => this.web.chat.update(args));
  }

  async delete(channel: string, ts: string): Promise<void> {
    await this.call(() => this.web.chat.delete({ channel, ts }));
  }

  async ephemeral(channel: string, user: string, text: string, threadTs?: string, blocks?: unknown[]): Promise<void> {
    await this.call(() => this.web.chat.postEphemeral({ channel, user, text, thread_ts: threadTs, blocks: blocks as never }));
  }

  /**
   * After a chat.postMessage whose outcome is unknown: the `ts` of the bot's message with exactly `text`
   * posted since `sinceMs` (Unix ms) in the thread (conversations.replies) or, without a thread, the channel
   * (conversations.history); `null` when there is none (it was not posted). Rejects when the lookup fails.
   */
  async findPost(channel: string, threadTs: string | undefined, text: string, sinceMs: number): Promise<string | null> {
    const oldest = (Math.floor(sinceMs / 1000) - 5).toFixed(6);
    const result = threadTs
      ? await this.call(() => this.web.conversations.replies({ channel, ts: threadTs, oldest, limit: 100 }))
      : await this.call(() => this.web.conversations.history({ channel, oldest, limit: 100 }));
    const mine = (m: { user?: string; bot_id?: string }) => m.user === this.self.userId || (this.self.botId !== undefined && m.bot_id === this.self.botId);
    const found = (result.messages ?? []).filter((m) => mine(m) && m.text === text && m.ts !== threadTs).at(-1);
    return found?.ts ?? null;
  }

  /** Runs `fn`, waiting out HTTP 429s. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    for (let waits = 0; ; waits++) {
      if (this.#s.closed) throw new GlmbotError("shutting_down", "The Slack adapter is stopping.");
      try {
        return await fn();
      } catch (error) {
        const retryAfter = (error as { retryAfter?: number }).retryAfter;
        if (slackErrorCode(error) !== "ratelimited" || waits >= this.#maxWaits || typeof retryAfter !== "number") throw error;
        this.#log.info({ retryAfterSeconds: retryAfter }, "Slack rate limit: waiting");
        await this.#sleep(Math.max(0, retryAfter) * 1000);
      }
    }
  }

  /** Ends every pending rate-limit wait and refuses further calls. */
  close(): void {
    this.#s.closed = true;
    for (const wait of this.#waits) {
      this.#clock.clearTimeout(wait.timer);
      wait.reject(new GlmbotError("shutting_down", "The Slack adapter is stopping."));
    }
    this.#waits.clear();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const wait = {
        timer: undefined as unknown,
        reject,
      };
      wait.timer = this.#clock.setTimeout(() => {
        this.#waits.delete(wait);
        resolve();
      }, ms);
      this.#waits.add(wait);
    });
  }
}

/** A @slack/logger-compatible logger that forwards warnings and errors (debug chatter dropped). */
export function boltQuietLogger(log: Logger) {
  let level = "info";
  const text = (parts: unknown[]) => parts.map((p) => (p instanceof Error ? p.message : typeof p === "string" ? p : JSON.stringify(p))).join(" ");
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...parts: unknown[]) => log.warn({ component: "slack-sdk" }, text(parts)),
    error: (...parts: unknown[]) => log.error({ component: "slack-sdk" }, text(parts)),
    setLevel: (next: string) => void (level = next),
    getLevel: () => level as never,
    setName: () => undefined,
  };
}
