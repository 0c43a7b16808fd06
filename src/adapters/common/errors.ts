import { GlmbotError, isGlmbotError } from "../../core/errors.js";

/**
 * Any failure of a submit or command call as a GlmbotError, for {@link errorText}: a GlmbotError as is;
 * anything else (a store failure, a bug) as `internal_error` with a generic, user-safe message (the cause
 * is kept for logs, never shown).
 */
export function toGlmbotError(error: unknown): GlmbotError {
  return isGlmbotError(error) ? error : new GlmbotError("internal_error", "Something went wrong. Please try again.", {}, { cause: error });
}
