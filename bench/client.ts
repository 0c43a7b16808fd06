/**
 * HTTP client side of the bench: `POST /v1/messages` with `stream: true`, reading the SSE stream and
 * time-stamping every `token` event on arrival (performance.now(), ms).
 */

export interface MessageBody {
  conversation_id: string;
  user: string;
  text: string;
  system?: string;
  max_tokens?: number;
  temperature?: number;
}

export interface DoneEvent {
  reply: string;
  finish_reason: string;
  usage: { prompt_tokens: number; completion_tokens: number };
  context: { window: number; used: number; dropped_turns: number };
}

export interface StreamResult {
  status: number;
  /** performance.now() when the request was sent. */
  sentAt: number;
  /** Arrival time of each `token` event. */
  tokenTimes: number[];
  text: string;
  done?: DoneEvent;
  /** The `error` event's or the error response's body. */
  error?: unknown;
  endedAt: number;
}

/**
 * Streams one message; resolves when the stream ends, or when `signal` aborts it or `timeoutMs` passes
 * (then `error` is "aborted" / "timeout"). Never rejects.
 */
export async function streamMessage(
  baseUrl: string,
  body: MessageBody,
  options: { signal?: AbortSignal; timeoutMs?: number; onToken?: () => void } = {},
): Promise<StreamResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 300_000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const sentAt = performance.now();
  const result: StreamResult = { status: 0, sentAt, tokenTimes: [], text: "", endedAt: sentAt };
  try {
    const res = await fetch(`${baseUrl}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ ...body, stream: true }),
      signal,
    });
    result.status = res.status;
    if (res.status !== 200 || !res.body) {
      result.error = await res.json().catch(() => undefined);
      return result;
    }
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const at = performance.now();
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = "message";
        let data = "";
        for (const line of raw.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        if (event === "token") {
          result.tokenTimes.push(at);
          options.onToken?.();
          result.text += (JSON.parse(data) as { text: string }).text;
        } else if (event === "done") result.done = JSON.parse(data) as DoneEvent;
        else if (event === "error") result.error = JSON.parse(data);
      }
    }
  } catch (err) {
    result.error = timeout.aborted ? "timeout" : signal.aborted ? "aborted" : String(err);
  } finally {
    result.endedAt = performance.now();
  }
  return result;
}

/** Time to first token (ms) of a stream, NaN without tokens. */
export function ttftMs(r: StreamResult): number {
  return r.tokenTimes.length > 0 ? r.tokenTimes[0] - r.sentAt : NaN;
}

/**
 * Throws unless the stream ended with `done` after exactly `maxTokens` completion tokens and one `token`
 * event per token (the bench models make both hold; the token timings rely on them).
 */
export function assertFullLength(r: StreamResult, maxTokens: number, what: string): void {
  if (!r.done) throw new Error(`${what}: no done event (status ${r.status}, error ${JSON.stringify(r.error)})`);
  if (r.done.usage.completion_tokens !== maxTokens)
    throw new Error(`${what}: ${r.done.usage.completion_tokens} completion tokens, expected max_tokens = ${maxTokens} (finish_reason ${r.done.finish_reason})`);
  if (r.tokenTimes.length !== maxTokens)
    throw new Error(`${what}: ${r.tokenTimes.length} SSE token events for ${maxTokens} tokens; the bench times one event per token`);
}
