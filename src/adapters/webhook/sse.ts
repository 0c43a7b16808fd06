/**
 * Server-Sent Events on a raw Node response. Events used by `POST /v1/messages` with `stream: true`:
 *   event: token  data: {"text": "<delta>"}
 *   event: done   data: <the same JSON as the non-streaming 200 answer>
 *   event: error  data: {"error": {"code", "message", ...}}
 * `data` is always one line of JSON (JSON escapes newlines; lone surrogates are escaped as \uXXXX, so a
 * client's JSON.parse restores the exact text). A `: ping` comment is sent every `heartbeatMs` to keep
 * proxies from timing out an idle stream.
 */
import type { ServerResponse } from "node:http";
import type { FinalResult } from "./outcome.js";

export class SseWriter {
  private closed = false;
  private heartbeat?: NodeJS.Timeout;

  /** Writes the 200 + SSE headers at once. `onGone` runs if the client disconnects before {@link close}. */
  constructor(
    private readonly res: ServerResponse,
    onGone: () => void,
    heartbeatMs = 15_000,
    extraHeaders: Record<string, string> = {},
  ) {
    res.writeHead(200, {
      ...extraHeaders,
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.flushHeaders();
    res.on("close", () => {
      const wasOpen = !this.closed;
      this.stop();
      if (wasOpen) onGone();
    });
    if (heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.write(": ping\n\n"), heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** True once closed by us or by the client. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one event; ignored after close. */
  event(name: string, data: unknown): void {
    this.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends the final `done` (status 200) or `error` event for `result`, then ends the response. */
  finish(result: FinalResult): void {
    this.event(result.status === 200 ? "done" : "error", result.body);
    this.close();
  }

  /** Ends the response. */
  close(): void {
    if (this.closed) return;
    this.stop();
    this.res.end();
  }

  private write(chunk: string): void {
    if (this.closed || this.res.destroyed) return;
    this.res.write(chunk);
  }

  private stop(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

/** Replays a stored answer as a complete SSE stream: one `token` with the whole reply, then `done`/`error`. */
export function replayAsSse(res: ServerResponse, result: FinalResult): void {
  const sse = new SseWriter(res, () => {}, 0, { "idempotent-replayed": "true" });
  const reply = result.body.reply;
  if (result.status === 200 && typeof reply === "string" && reply.length > 0) sse.event("token", { text: reply });
  sse.finish(result);
}
