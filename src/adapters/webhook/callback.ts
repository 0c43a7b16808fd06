/**
 * Callback delivery: POSTs a job's final JSON to the request's `callback_url`, signed like inbound requests
 * (X-Glmbot-Timestamp / X-Glmbot-Signature, when the client has a secret; re-signed on each attempt),
 * with `X-Glmbot-Job-Id` for de-duplication on the receiving side. Redirects are not followed (the target
 * was checked against the allowed prefixes). Retries on network errors, timeouts, 429 and 5xx.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyBaseLogger } from "fastify";
import { signatureHeaders } from "./auth.js";

/** Default pauses before the 2nd, 3rd, … attempt, in ms (the last value repeats). */
export const DEFAULT_CALLBACK_DELAYS_MS: readonly number[] = [1000, 5000, 25_000];

export interface CallbackOptions {
  url: string;
  /** JSON body (the final answer or error JSON). */
  body: unknown;
  jobId: string;
  /** HMAC secret of the client; unsigned when absent. */
  secret?: string;
  /** Total attempts (≥ 1). */
  attempts: number;
  /** Timeout of one attempt, ms. */
  timeoutMs: number;
  /** Pauses between attempts, ms; the last value repeats. */
  delaysMs?: readonly number[];
  /** Aborts waiting and in-flight attempts (server shutdown). */
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  logger?: FastifyBaseLogger;
}

export interface CallbackResult {
  delivered: boolean;
  attempts: number;
  /** HTTP status of the last attempt, if one answered. */
  status?: number;
}

/** Only the origin of a URL, for logs (paths and queries may carry tokens). */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid url)";
  }
}

/** Delivers one callback with retries. Never rejects. */
export async function deliverCallback(opts: CallbackOptions): Promise<CallbackResult> {
  const doFetch = opts.fetch ?? globalThis.fetch;
  const now = opts.now ?? Date.now;
  const delays = opts.delaysMs ?? DEFAULT_CALLBACK_DELAYS_MS;
  const raw = JSON.stringify(opts.body);
  let status: number | undefined;
  for (let attempt = 1; attempt <= opts.attempts; attempt++) {
    if (attempt > 1) {
      const pause = delays[Math.min(attempt - 2, delays.length - 1)] ?? 1000;
      try {
        await sleep(pause, undefined, { signal: opts.signal });
      } catch {
        return { delivered: false, attempts: attempt - 1, status };
      }
    }
    if (opts.signal?.aborted) return { delivered: false, attempts: attempt - 1, status };
    const headers: Record<string, string> = {
      "content-type": "application/json; charset=utf-8",
      "user-agent": "glmbot-webhook",
      "x-glmbot-job-id": opts.jobId,
      ...(opts.secret !== undefined ? signatureHeaders(opts.secret, raw, now()) : {}),
    };
    const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
    try {
      const res = await doFetch(opts.url, { method: "POST", headers, body: raw, redirect: "manual", signal: AbortSignal.any(signals) });
      status = res.status;
      await res.body?.cancel().catch(() => {});
      if (res.status >= 200 && res.status < 300) return { delivered: true, attempts: attempt, status };
      const retryable = res.status === 429 || res.status >= 500;
      opts.logger?.warn({ target: origin(opts.url), status: res.status, attempt, jobId: opts.jobId }, "webhook: callback refused");
      if (!retryable) return { delivered: false, attempts: attempt, status };
    } catch (err) {
      opts.logger?.warn({ target: origin(opts.url), attempt, jobId: opts.jobId, reason: (err as Error).name }, "webhook: callback failed");
    }
  }
  return { delivered: false, attempts: opts.attempts, status };
}
