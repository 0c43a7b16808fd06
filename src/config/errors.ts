/**
 * Turns zod issues into one readable, secret-free error:
 * `config: server.port: expected integer 0–65535, got "abc"`.
 */
import type { ZodError, ZodIssue } from "zod";
import { GlmbotError } from "../core/errors.js";

/** A key whose value is a secret: its value never appears in messages (only its path). */
export function isSecretPath(path: readonly (string | number)[]): boolean {
  const last = String(path[path.length - 1] ?? "");
  return /token|secret|password/i.test(last) && !/(Env|File)$/.test(last);
}

/** `["webhook","clients",0,"token"]` → `webhook.clients[0].token`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  return out || "(root)";
}

/** Removes `user:password@` from URLs inside a string. */
export function stripUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1***@");
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  text = stripUrlCredentials(text);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = root;
  for (const part of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string | number, unknown>)[part];
  }
  return cur;
}

function issueLine(issue: ZodIssue, input: unknown, where: (path: string) => string): string {
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) => `config: ${where(formatPath([...issue.path, k]))}: unknown key`).join("\n");
  }
  const path = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  if (isSecretPath(issue.path)) return `config: ${where(path)}: ${issue.message}`;
  // Object-level refinements (e.g. "expected a token or a secret") would print the whole object: skip the value.
  const showValue = value === undefined || value === null || typeof value !== "object";
  return `config: ${where(path)}: ${issue.message}${showValue ? `, got ${describe(value)}` : ""}`;
}

/**
 * Builds the single `config_invalid` error for a failed parse. `input` is what was validated (used to quote
 * the offending value; secret keys are never quoted). `where` may decorate a path (e.g. with its env source).
 * The message has one line per problem; `details.issues` lists `{path, message}`.
 */
export function configError(err: ZodError, input: unknown, where: (path: string) => string = (p) => p): GlmbotError {
  const lines = err.issues.map((i) => issueLine(i, input, where));
  const issues = err.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  return new GlmbotError("config_invalid", lines.join("\n"), { issues });
}

/** A `config_invalid` error with a single line (`config: <path>: <text>`). */
export function configProblem(path: string, text: string): GlmbotError {
  return new GlmbotError("config_invalid", `config: ${path}: ${text}`, { issues: [{ path, message: text }] });
}
