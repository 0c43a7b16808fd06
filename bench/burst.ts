/**
 * A burst of HTTP requests with as little client work as possible, so that the latency measured is the
 * service's: every request gets its own keep-alive TCP connection, opened before the burst; then all
 * requests (pre-serialised HTTP/1.1 bytes) are written in one tight loop. Latency = request written →
 * complete response received (status line, headers and Content-Length body). A `200` answer (an accepted
 * streaming request) is left open until {@link Burst.close} destroys the connections, which the service sees
 * as the client going away (it cancels those jobs).
 */
import { connect, type Socket } from "node:net";

export interface BurstResponse {
  /** HTTP status, or 0 if the connection failed / closed without a response. */
  status: number;
  /** ms from the write to the complete response (429…) or to the response head (200, a stream). */
  latencyMs: number;
  /** Response body, for complete (non-streaming) responses. */
  body?: string;
}

export interface Burst {
  responses: Promise<BurstResponse[]>;
  /** Destroy every connection (accepted streams included). */
  close(): void;
}

/** Opens `bodies.length` connections to `url` (http://host:port), then POSTs each body to `path` at once. */
export async function burst(url: string, path: string, bodies: readonly string[], timeoutMs = 60_000): Promise<Burst> {
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(
    bodies.map(
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: hostname, port: Number(port), noDelay: true });
          socket.once("connect", () => resolve(socket));
          socket.once("error", reject);
        }),
    ),
  );
  const requests = bodies.map((body) =>
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n\r\n${body}`,
    ),
  );
  const pending = sockets.map((socket) => {
    let resolve!: (r: BurstResponse) => void;
    const promise = new Promise<BurstResponse>((r) => (resolve = r));
    return { socket, promise, resolve, sentAt: 0 };
  });
  for (const p of pending) {
    let buffer = Buffer.alloc(0);
    let settled = false;
    const settle = (r: BurstResponse) => {
      if (settled) return;
      settled = true;
      p.resolve(r);
    };
    p.socket.on("data", (chunk: Buffer) => {
      if (settled) return;
      const at = performance.now();
      buffer = Buffer.concat([buffer, chunk]);
      const headEnd = buffer.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = buffer.subarray(0, headEnd).toString("latin1");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) return settle({ status, latencyMs: at - p.sentAt }); // a stream: the head is the answer
      const bodyBytes = buffer.subarray(headEnd + 4);
      if (bodyBytes.length < Number(length[1])) return;
      settle({ status, latencyMs: at - p.sentAt, body: bodyBytes.subarray(0, Number(length[1])).toString("utf8") });
    });
    p.socket.on("error", () => settle({ status: 0, latencyMs: performance.now() - p.sentAt }));
    p.socket.on("close", () => settle({ status: 0, latencyMs: performance.now() - p.sentAt }));
  }
  const timer = setTimeout(() => {
    for (const p of pending) p.socket.destroy();
  }, timeoutMs);
  for (let i = 0; i < pending.length; i++) {
    pending[i].sentAt = performance.now();
    pending[i].socket.write(requests[i]);
  }
  return {
    responses: Promise.all(pending.map((p) => p.promise)).finally(() => clearTimeout(timer)),
    close() {
      clearTimeout(timer);
      for (const p of pending) p.socket.destroy();
    },
  };
}
