/**
 * A file server on 127.0.0.1 (port 0) with HTTP Range support, for `glmbot pull` tests. It records every
 * request, and in `cut` mode it sends ranges that start at byte 0 in full but stops every other response
 * after `cutAfterBytes` bytes and holds the socket open — a download that is interrupted part-way.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RangeRequest {
  method: string;
  url: string;
  /** The Range header, e.g. `bytes=5242880-10485759`, or undefined. */
  range?: string;
}

export interface RangeServer {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  requests: RangeRequest[];
  mode: "normal" | "cut";
  close(): Promise<void>;
}

/** Deterministic bytes that start with the GGUF magic (only the magic is checked after a download). */
export function ggufLikeBytes(size: number, seed = 7): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  out.write("GGUF", 0, "latin1");
  return out;
}

export const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Serves `files` (path → bytes). */
export async function startRangeServer(files: Record<string, Buffer>, options: { cutAfterBytes?: number } = {}): Promise<RangeServer> {
  const sockets = new Set<Socket>();
  const state = { mode: "normal" as RangeServer["mode"] };
  const requests: RangeRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", range: req.headers.range });
    const data = files[(req.url ?? "").split("?")[0]!];
    if (!data) {
      res.writeHead(404).end();
      return;
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] !== "" ? Math.min(Number(m[2]), data.length - 1) : data.length - 1;
    const headers = { "accept-ranges": "bytes", "content-type": "application/octet-stream", "content-length": String(end - start + 1) };
    if (m) res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${end}/${data.length}` });
    else res.writeHead(200, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const body = data.subarray(start, end + 1);
    if (state.mode === "cut" && m && start > 0) {
      res.write(body.subarray(0, options.cutAfterBytes ?? 1024)); // …and never more: the socket stays open
      return;
    }
    res.end(body);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    get mode() {
      return state.mode;
    },
    set mode(value) {
      state.mode = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
