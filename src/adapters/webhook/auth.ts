/**
 * Webhook authentication: Bearer tokens and HMAC-SHA256 request signatures, per configured client.
 *
 * Signature scheme (requests to glmbot and callbacks from glmbot alike):
 *   X-Glmbot-Timestamp: <unix seconds>
 *   X-Glmbot-Signature: v1=<hex HMAC-SHA256(secret, "v1:" + timestamp + ":" + raw body bytes)>
 * Several comma-separated `v1=` values are accepted (secret rotation). Timestamps more than
 * {@link MAX_SKEW_SECONDS} away from now are refused. All comparisons are constant-time.
 *
 * Replay protection: a signed request can be used only once. The signature covers the timestamp and the
 * body, not the method, path or other headers, so a captured signature could otherwise be sent again
 * while its timestamp is still accepted (up to 300 seconds either side of the server's clock): an
 * empty-body signature taken from `GET /v1/conversations/<id>` would also work for `DELETE` on the same
 * conversation, and a signed `POST /v1/messages` sent three times would run the model three times. glmbot
 * therefore remembers every signature it has accepted, per client, until its timestamp is more than 300
 * seconds in the past, and refuses a second use with 401 `invalid_signature` ("signature already used").
 * Sign every request with a fresh `X-Glmbot-Timestamp`; two requests with the same body (for example two
 * empty-body requests) need different timestamps, so send them at least a second apart. The one exception
 * is a retry: a `POST /v1/messages` that carries an `Idempotency-Key` may be sent again byte for byte with
 * the same key, headers and signature; the retry gets the stored answer (or 409 `idempotency_conflict`
 * while the first attempt is still running) and never runs the model a second time. Bearer-token requests
 * are not affected. The list is kept in memory (one process; lost on restart).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { GlmbotError } from "../../core/errors.js";

/** Largest accepted difference between X-Glmbot-Timestamp and now, in seconds. */
export const MAX_SKEW_SECONDS = 300;

/** Where a signature accepted for a client is remembered (see {@link SignatureReplayCache}). */
export interface SignatureRef {
  /** Client name + signature, the cache key. */
  readonly id: string;
  /** True when this request repeats an earlier one under its Idempotency-Key (an allowed retry). */
  readonly repeat: boolean;
}

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
  /** Set for a signed request checked against a replay cache. */
  signature?: SignatureRef;
}

interface ReplayEntry {
  /** When the signature's timestamp stops being accepted (timestamp + MAX_SKEW_SECONDS), ms. */
  expiresAtMs: number;
  /** The Idempotency-Key of the first use: repeats with this same key are allowed retries. */
  repeatKey?: string;
  /** Whether a request with this signature queued a job (a repeat must then never queue another). */
  queued: boolean;
}

/**
 * The signatures accepted in the last {@link MAX_SKEW_SECONDS} (per client), for refusing replays. An
 * entry lives until its timestamp can no longer pass the skew check (timestamp + MAX_SKEW_SECONDS by the
 * caller's clock), so memory is bounded by the signed requests of about ten minutes; expired entries are
 * swept on insert (at most once per clock second).
 */
export class SignatureReplayCache {
  private readonly entries = new Map<string, ReplayEntry>();
  private lastSweepMs = Number.NEGATIVE_INFINITY;

  /**
   * Records a use of `mac` (hex) by `client`. Returns `"first"` for a new signature, `"repeat"` for an
   * allowed retry (the first use carried the same non-empty `repeatKey`), `"replayed"` otherwise.
   */
  use(client: string, mac: string, timestampSec: number, nowMs: number, repeatKey?: string): { id: string; state: "first" | "repeat" | "replayed" } {
    const id = `${client}\u0000${mac}`;
    const seen = this.entries.get(id);
    if (seen !== undefined && nowMs <= seen.expiresAtMs) {
      return { id, state: seen.repeatKey !== undefined && seen.repeatKey === repeatKey ? "repeat" : "replayed" };
    }
    this.sweep(nowMs);
    this.entries.set(id, { expiresAtMs: (timestampSec + MAX_SKEW_SECONDS) * 1000, repeatKey, queued: false });
    return { id, state: "first" };
  }

  /** Notes that the request signed with `ref` queued a job. */
  markQueued(ref: SignatureRef): void {
    const entry = this.entries.get(ref.id);
    if (entry) entry.queued = true;
  }

  /** Whether a request signed with `ref` already queued a job. */
  wasQueued(ref: SignatureRef): boolean {
    return this.entries.get(ref.id)?.queued === true;
  }

  /** Number of remembered signatures (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private sweep(nowMs: number): void {
    if (Math.abs(nowMs - this.lastSweepMs) < 1000) return;
    this.lastSweepMs = nowMs;
    for (const [id, entry] of this.entries) if (nowMs > entry.expiresAtMs) this.entries.delete(id);
  }
}

/** The 401 for a signature that was already used. */
export function replayedSignatureError(): GlmbotError {
  return new GlmbotError(
    "invalid_signature",
    "signature already used: sign each request with a fresh X-Glmbot-Timestamp (to retry POST /v1/messages, send the same Idempotency-Key)",
    { reason: "replayed" },
  );
}

/** Replay check for {@link authenticate}. */
export interface ReplayCheck {
  cache: SignatureReplayCache;
  /** The request's Idempotency-Key, for POST /v1/messages only: a byte-for-byte retry with it is allowed. */
  repeatKey?: string;
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

/** The expected MAC (hex) when one of `given` matches it, else undefined. */
function matchesSignature(secret: string, ts: string, raw: Buffer, given: Buffer[]): string | undefined {
  const expected = createHmac("sha256", secret).update(`v1:${ts}:`).update(raw).digest();
  let ok = false;
  for (const sig of given) if (sig.length === expected.length && timingSafeEqual(sig, expected)) ok = true;
  return ok ? expected.toString("hex") : undefined;
}

/**
 * Identifies the client of a request from its headers (lower-case names, as Node gives them) and raw body.
 * With no clients configured every request is client `local` (only allowed on loopback, see {@link assertSafeBind}).
 * With `replay`, a signature already accepted is refused (see the module docs); the result's `signature`
 * then identifies the entry.
 * @throws GlmbotError `unauthorized` (no or unknown credentials), `invalid_signature` (also: already used),
 *   `stale_timestamp`.
 */
export function authenticate(
  headers: Record<string, string | string[] | undefined>,
  rawBody: Buffer,
  clients: readonly ClientCredentials[],
  nowMs: number,
  replay?: ReplayCheck,
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
  let mac: string | undefined;
  for (const c of clients) {
    const m = c.secret !== undefined ? matchesSignature(c.secret, ts, rawBody, given) : undefined;
    if (m !== undefined && !found) {
      found = c;
      mac = m;
    }
  }
  if (!found || mac === undefined) throw new GlmbotError("invalid_signature", "signature does not match the request body");
  if (!replay) return { name: found.name, secret: found.secret };
  const use = replay.cache.use(found.name, mac, Number(ts), nowMs, replay.repeatKey);
  if (use.state === "replayed") throw replayedSignatureError();
  return { name: found.name, secret: found.secret, signature: { id: use.id, repeat: use.state === "repeat" } };
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
