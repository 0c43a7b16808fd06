/**
 * The one table of glmbot's coded errors, shared by every adapter so that the webhook's JSON body and a
 * chat reply say the same thing. Each code has an HTTP status (used by the webhook adapter) and a short
 * user-facing default message (used by chat adapters). Messages never contain secrets.
 */

/** Error codes and their HTTP status. */
export const ERROR_CODES = {
  invalid_json: 400,
  invalid_request: 400,
  unauthorized: 401,
  invalid_signature: 401,
  stale_timestamp: 401,
  not_found: 404,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  input_too_long: 422,
  queue_full: 429,
  generation_failed: 500,
  model_not_ready: 503,
  shutting_down: 503,
  generation_timeout: 504,
  cancelled: 499,
  delivery_failed: 502,
  model_load_failed: 500,
  config_invalid: 500,
  /** An unexpected failure (a bug or an unavailable store); the message says nothing more. */
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * An error with a stable machine-readable `code` (see {@link ERROR_CODES}) and optional structured
 * `details` (e.g. `{tokens: 2100, limit: 1536}` for `input_too_long`, `{retryAfterSeconds: 5}` for
 * `queue_full`). `message` is safe to show to users and to log.
 */
export class GlmbotError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "GlmbotError";
    this.code = code;
    this.details = details;
  }

  /** HTTP status for this error's code. */
  get httpStatus(): number {
    return ERROR_CODES[this.code];
  }

  /** The shared JSON error shape: `{error: {code, message, ...details}}`. */
  toJSON(): { error: Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

/** True when `err` is a {@link GlmbotError}, optionally of one of the given codes. */
export function isGlmbotError(err: unknown, ...codes: ErrorCode[]): err is GlmbotError {
  return err instanceof GlmbotError && (codes.length === 0 || codes.includes(err.code));
}
