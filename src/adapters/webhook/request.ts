/**
 * Request bodies: the raw-bytes JSON content-type parser (HMAC needs the exact bytes), JSON parsing and
 * zod validation of `POST /v1/messages`. Every refusal names the field.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { GlmbotError } from "../../core/errors.js";

/** `conversation_id` syntax: 1–128 chars of `A–Z a–z 0–9 . _ : @ / -`. */
export const CONVERSATION_ID = /^[A-Za-z0-9._:@/-]{1,128}$/;
const CONVERSATION_ID_EXPECTED = "expected 1–128 chars of A–Z a–z 0–9 . _ : @ / -";

const msg = (what: string) => ({ invalid_type_error: what, required_error: "is required" });

/** The JSON body of `POST /v1/messages`. Unknown fields are refused. */
export const MessageRequestSchema = z
  .object({
    conversation_id: z.string(msg("expected string")).regex(CONVERSATION_ID, CONVERSATION_ID_EXPECTED),
    user: z.string(msg("expected string")).min(1, "expected 1–256 characters").max(256, "expected 1–256 characters"),
    text: z.string(msg("expected string")).refine((t) => t.trim().length > 0, "expected non-empty text"),
    system: z.string(msg("expected string")).max(65_536, "expected at most 65536 characters").optional(),
    max_tokens: z.number(msg("expected integer 1–32768")).int("expected integer 1–32768").min(1, "expected integer 1–32768").max(32_768, "expected integer 1–32768").optional(),
    temperature: z.number(msg("expected number 0–2")).min(0, "expected number 0–2").max(2, "expected number 0–2").optional(),
    stream: z.boolean(msg("expected boolean")).optional(),
    callback_url: z.string(msg("expected string")).optional(),
  })
  .strict();

export type MessageRequest = z.infer<typeof MessageRequestSchema>;

/** Keeps JSON bodies as raw Buffers (parsed later by {@link parseJson}); every other media type gets 415. */
export function installRawJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
}

/** The raw body bytes of a request (empty when there was none). */
export function rawBodyOf(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

/** @throws GlmbotError `unsupported_media_type` when the request carried no JSON body. */
export function requireJsonBody(body: unknown): Buffer {
  if (!Buffer.isBuffer(body)) throw new GlmbotError("unsupported_media_type", "expected Content-Type: application/json");
  return body;
}

/** @throws GlmbotError `invalid_json`. */
export function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new GlmbotError("invalid_json", "request body is not valid JSON");
  }
}

function invalid(field: string, text: string): GlmbotError {
  return new GlmbotError("invalid_request", `${field}: ${text}`, { field });
}

/** True when `url` (normalised) starts with one of `prefixes`. */
export function isAllowedCallback(url: string, prefixes: readonly string[]): boolean {
  let href: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
    href = parsed.href;
  } catch {
    return false;
  }
  return prefixes.some((p) => href.startsWith(p));
}

/**
 * Validates a parsed body.
 * @throws GlmbotError `invalid_request` naming the first bad field (`details.field`), including a
 *   `callback_url` that does not start with one of `callbackPrefixes` and `stream` combined with `callback_url`.
 */
export function parseMessageRequest(body: unknown, callbackPrefixes: readonly string[]): MessageRequest {
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw invalid("body", "expected a JSON object");
  const parsed = MessageRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === "unrecognized_keys") throw invalid(issue.keys[0], "unknown field");
    throw invalid(issue.path.join(".") || "body", issue.message);
  }
  const req = parsed.data;
  if (req.callback_url !== undefined) {
    if (req.stream === true) throw invalid("stream", "cannot be combined with callback_url");
    if (!isAllowedCallback(req.callback_url, callbackPrefixes)) {
      throw invalid("callback_url", "not an allowed callback URL (see webhook.callbackAllowedPrefixes)");
    }
  }
  return req;
}

/** Validates the `:id` of `/v1/conversations/:id`. @throws GlmbotError `invalid_request` (field `conversation_id`). */
export function parseConversationId(id: string | undefined): string {
  if (id === undefined || !CONVERSATION_ID.test(id)) throw invalid("conversation_id", CONVERSATION_ID_EXPECTED);
  return id;
}

/** Validates an `Idempotency-Key` header: 1–255 visible ASCII characters. */
export function parseIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw invalid("Idempotency-Key", "expected 1–255 visible ASCII characters");
  }
  return value;
}
