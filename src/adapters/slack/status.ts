/**
 * The "is thinking…" indicator of Slack's Agents & AI Apps feature: `assistant.threads.setStatus`
 * (scope `assistant:write`; needs a thread). Best effort and fire-and-forget: a failure never affects the
 * reply. The first answer saying the app cannot use it (`missing_scope`, `not_allowed_token_type`,
 * `unknown_method`, `feature_not_enabled`…) turns the indicator off for the rest of the process, so an
 * app without the feature costs one failed call in all.
 */
import type { Logger } from "../../core/logger.js";
import { slackErrorCode, UNAVAILABLE, type SlackApi } from "./SlackApi.js";

export const THINKING_STATUS = "is thinking…";

export class StatusIndicator {
  readonly #api: SlackApi;
  readonly #log: Logger;
  #enabled: boolean;
  /** `channel:thread` pairs with a status set by us. */
  readonly #set = new Set<string>();

  constructor(api: SlackApi, log: Logger, enabled: boolean) {
    this.#api = api;
    this.#log = log;
    this.#enabled = enabled;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Shows `status` (default "is thinking…") under the thread. `log`: the reply's logger (default the indicator's). */
  thinking(channel: string, threadTs: string | undefined, status = THINKING_STATUS, log = this.#log): void {
    if (!this.#enabled || threadTs === undefined) return;
    this.#set.add(`${channel}:${threadTs}`);
    this.#send(channel, threadTs, status, log);
  }

  /** Clears a status this indicator set. */
  clear(channel: string, threadTs: string | undefined, log = this.#log): void {
    if (threadTs === undefined || !this.#set.delete(`${channel}:${threadTs}`) || !this.#enabled) return;
    this.#send(channel, threadTs, "", log);
  }

  #send(channel: string, threadTs: string, status: string, log: Logger): void {
    this.#api.web.assistant.threads.setStatus({ channel_id: channel, thread_ts: threadTs, status }).catch((err: unknown) => {
      const code = slackErrorCode(err);
      if (code !== undefined && UNAVAILABLE.has(code)) {
        if (this.#enabled) this.#log.info({ code }, "assistant.threads.setStatus is not available to this app; the thinking status is off");
        this.#enabled = false;
      } else {
        log.debug({ err, channel }, "assistant.threads.setStatus failed");
      }
    });
  }
}
