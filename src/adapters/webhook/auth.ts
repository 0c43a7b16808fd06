/**
 * Webhook authentication: Bearer tokens and HMAC-SHA256 request signatures, per configured client.
 *
 * Signature scheme (requests to glmbot and callbacks from glmbot alike):
 *   X-Glmbot-Timestamp: <unix seconds>
 *   X-Glmbot-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + raw body bytes)>
 * Several comma-separated `v1=` values are accepted (secret rotation). Timestamps more than
 * {@link MAX_SKEW_SECONDS} away from now are refused. All comparisons are constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { GlmbotError } from "../../core/errors.js";

/** Largest accepted difference between X-Glmbot-Timestamp and now, in seconds. */
export const MAX_SKEW_SECONDS = 300;

/** A configured client's credentials (resolved values, see `webhook.clients` in the config). */
export interface ClientCredentials {
  name: string;
  token?: string;
  secret?: string;
}

/** Who made a request. `local` is the implicit client of an unauthenticated loopback-only server. */
export interface AuthenticatedClient {
  name: string;
  /** The client's HMAC secret, used to sign its callbacks. */
  secret?: string;
}

/** `v1=<hex>` signature of `rawBody` at `timestampSec` (unix seconds) with `secret`. */
export function signBody(secret: string, timestampSec: number | string, rawBody: Buffer | string): string {
  const mac = createHmac("sha256", secret).update(`v1:${timestampSec}:`).update(rawBody).digest("hex");
  return `v1=${mac}`;
}

/** Headers (`X-Glmbot-Timestamp`, `X-Glmbot-Signature`) for sending `rawBody` signed with `secret`. */
export function signatureHeaders(secret: string, rawBody: Buffer | string, nowMs: number = Date.now()): Record<string, string> {
  const ts = Math.floor(nowMs / 1000);
  return { "x-glmbot-timestamp": String(ts), "x-glmbot-signature": signBody(secret, ts, rawBody) };
}

/** Constant-time string equality (hashing first makes the buffers equal-length). */
function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return typeof v === "string" ? v : undefined;
}

function matchesSignature(secret: string, ts: string, raw: Buffer, given: Buffer[]): boolean {
  const expected = createHmac("sha256", secret).update(`v1:${ts}:`).update(raw).digest();
  let ok = false;
  for (const sig of given) if (sig.length === expected.length && timingSafeEqual(sig, expected)) ok = true;
  return ok;
}

/**
 * Identifies the client of a request from its headers (lower-case names, as Node gives them) and raw body.
 * With no clients configured every request is client `local` (only allowed on loopback, see {@link assertSafeBind}).
 * @throws GlmbotError `unauthorized` (no or unknown credentials), `invalid_signature`, `stale_timestamp`.
 */
export function authenticate(
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  clients: readonly ClientCredentials[],
  nowMs: number,
): AuthenticatedClient {
  if (clients.length === 0) return { name: "local" };
  const authorization = header(headers, "authorization");
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new GlmbotError("unauthorized", "Authorization must be: Bearer <token>");
    let found: ClientCredentials | undefined;
    for (const c of clients) if (c.token !== undefined && safeEqual(c.token, m[1]) && !found) found = c;
    if (!found) throw new GlmbotError("unauthorized", "unknown bearer token");
    return { name: found.name, secret: found.secret };
  }
  const signature = header(headers, "x-glmbot-signature");
  if (signature === undefined) {
    throw new GlmbotError("unauthorized", "missing credentials: send Authorization: Bearer <token> or X-Glmbot-Signature");
  }
  const ts = header(headers, "x-glmbot-timestamp");
  if (ts === undefined || !/^\d{1,12}$/.test(ts)) {
    throw new GlmbotError("invalid_signature", "X-Glmbot-Timestamp must be the unix time in seconds");
  }
  const skew = Math.abs(nowMs / 1000 - Number(ts));
  if (skew > MAX_SKEW_SECONDS) {
    throw new GlmbotError("stale_timestamp", `X-Glmbot-Timestamp is ${Math.round(skew)} s away from server time (max ${MAX_SKEW_SECONDS} s)`, {
      max_skew_seconds: MAX_SKEW_SECONDS,
    });
  }
  const given = signature
    .split(",")
    .map((s) => /^\s*v1=([0-9a-fA-F]{64})\s*$/.exec(s)?.[1])
    .filter((hex): hex is string => hex !== undefined)
    .map((hex) => Buffer.from(hex, "hex"));
  if (given.length === 0) throw new GlmbotError("invalid_signature", "X-Glmbot-Signature must be v1=<64 hex digits>");
  let found: ClientCredentials | undefined;
  for (const c of clients) if (c.secret !== undefined && matchesSignature(c.secret, ts, rawBody, given) && !found) found = c;
  if (!found) throw new GlmbotError("invalid_signature", "signature does not match the request body");
  return { name: found.name, secret: found.secret };
}

/** True for `localhost`, 127.0.0.0/8, `::1` and IPv4-mapped loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * Start-up guard: refuses to expose the webhook on a non-loopback address when no client has a token or secret.
 * @throws GlmbotError `config_invalid` with instructions.
 */
export function assertSafeBind(host: string, clients: readonly ClientCredentials[]): void {
  if (isLoopbackHost(host)) return;
  if (clients.some((c) => c.token !== undefined || c.secret !== undefined)) return;
  throw new GlmbotError(
    "config_invalid",
    `webhook: refusing to listen on ${host} without authentication. Set GLMBOT_WEBHOOK_TOKEN or GLMBOT_WEBHOOK_SECRET ` +
      "(or configure webhook.clients), bind server.host to 127.0.0.1, or set webhook.enabled: false",
  );
}
