/**
 * Maps every failure to the shared error shape `{"error": {"code", "message", ...details}}` with the status
 * from core's table. Fastify's own errors (body too large, media type, bad URL) are translated; anything
 * unexpected becomes 500 `internal_error` with a generic message (the cause is logged, never sent).
 * Requests too malformed to reach Fastify (bad request line, oversized headers, bad Content-Length…) get
 * the same shape from {@link clientErrorHandler}.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { GlmbotError, isGlmbotError } from "../../core/errors.js";

/** Translates any thrown value into a GlmbotError. `bodyLimit` (bytes) is quoted by `payload_too_large`. */
export function toGlmbotError(err: unknown, bodyLimit: number): GlmbotError {
  if (isGlmbotError(err)) return err;
  const e = err as Partial<FastifyError> | null;
  switch (e?.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new GlmbotError("payload_too_large", `request body is larger than ${bodyLimit} bytes`, { limit: bodyLimit });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new GlmbotError("unsupported_media_type", "expected Content-Type: application/json");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new GlmbotError("invalid_json", "request body is not valid JSON");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new GlmbotError("invalid_request", "Content-Length does not match the body");
    case "FST_ERR_BAD_URL":
      return new GlmbotError("invalid_request", "malformed URL");
  }
  const status = typeof e?.statusCode === "number" ? e.statusCode : 500;
  if (status === 413) return new GlmbotError("payload_too_large", `request body is larger than ${bodyLimit} bytes`, { limit: bodyLimit });
  if (status === 415) return new GlmbotError("unsupported_media_type", "expected Content-Type: application/json");
  if (status >= 400 && status < 500) return new GlmbotError("invalid_request", "bad request");
  return new GlmbotError("internal_error", "internal error", {}, { cause: err });
}

/** Extra response headers for an error: `Retry-After` (seconds) for `queue_full` and `idempotency_conflict`. */
export function errorHeaders(err: GlmbotError): Record<string, string> {
  if (err.code === "queue_full") {
    const s = Number(err.details.retryAfterSeconds);
    return { "retry-after": String(Number.isFinite(s) && s >= 1 ? Math.ceil(s) : 1) };
  }
  if (err.code === "idempotency_conflict") return { "retry-after": "1" };
  if (err.code === "unauthorized") return { "www-authenticate": 'Bearer realm="glmbot"' };
  return {};
}

/** Sends `err` as the shared JSON shape, with `extra` top-level fields (e.g. `{id, conversation_id}`). */
export function sendError(reply: FastifyReply, err: GlmbotError, extra: Record<string, unknown> = {}): FastifyReply {
  return reply
    .code(err.httpStatus)
    .headers(errorHeaders(err))
    .type("application/json; charset=utf-8")
    .send({ ...extra, ...err.toJSON() });
}

function handle(bodyLimit: number) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const mapped = toGlmbotError(err, bodyLimit);
    if (mapped.code === "internal_error") req.log.error({ err }, "webhook: unexpected error");
    else req.log.debug({ code: mapped.code }, "webhook: request refused");
    if (reply.sent || reply.raw.headersSent) return;
    sendError(reply, mapped);
  };
}

/** Installs the error handler, the framework-error handler (bad URLs) and the 404 handler on `app`. */
export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  const handler = handle(bodyLimit);
  app.setErrorHandler(handler);
  app.setNotFoundHandler((req, reply) => {
    sendError(reply, new GlmbotError("not_found", `no route for ${req.method} ${req.url.split("?")[0].slice(0, 200)}`));
  });
}

/** The `frameworkErrors` option for Fastify (errors raised before routing, e.g. a malformed URL). */
export function frameworkErrorHandler(bodyLimit: number) {
  return (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
    sendError(reply, toGlmbotError(err, bodyLimit));
  };
}

/** HTTP parser error codes (llhttp `HPE_*`, Node's `ERR_HTTP_*`) → status and message. */
function describeClientError(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, message: "request headers are too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, message: "the request was not received in time" };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, message: "chunk extensions are too large" };
    case "HPE_INVALID_CONTENT_LENGTH":
    case "HPE_UNEXPECTED_CONTENT_LENGTH":
      return { status: 400, message: "invalid Content-Length header" };
    case "HPE_INVALID_TRANSFER_ENCODING":
      return { status: 400, message: "invalid Transfer-Encoding (it cannot be combined with Content-Length)" };
    case "HPE_INVALID_METHOD":
    case "HPE_INVALID_URL":
    case "HPE_INVALID_VERSION":
    case "HPE_INVALID_CONSTANT":
      return { status: 400, message: "malformed HTTP request line" };
    case "HPE_INVALID_HEADER_TOKEN":
    case "HPE_INVALID_CHUNK_SIZE":
    case "HPE_LF_EXPECTED":
    case "HPE_CR_EXPECTED":
      return { status: 400, message: "malformed HTTP headers or body framing" };
    default:
      return { status: 400, message: "malformed HTTP request" };
  }
}

/** Sockets already answered by {@link clientErrorHandler} (the parser may report more errors on them). */
const answered = new WeakSet<Socket>();

/**
 * The `clientErrorHandler` option for Fastify: errors the HTTP parser raises before a request exists
 * (malformed request line, headers over the size limit → 431, `Content-Length: abc`, Content-Length
 * together with Transfer-Encoding…) are answered in the shared shape, `invalid_request` (or
 * `payload_too_large` for 413) with the status Node would use, on a one-shot HTTP/1.1 response, and the
 * connection is closed. Nothing is written when a response is already under way on the socket.
 */
export function clientErrorHandler(this: FastifyInstance | undefined, err: Error & { code?: string }, socket: Socket): void {
  if (answered.has(socket)) return; // further parser errors on a socket that is closing
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const { status, message } = describeClientError(err.code);
  this?.log?.debug({ code: err.code, status }, "webhook: malformed HTTP request refused");
  const code = status === 413 ? "payload_too_large" : "invalid_request";
  const body = JSON.stringify({ error: { code, message } });
  answered.add(socket);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Bad Request"}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
    () => socket.destroy(),
  );
}
