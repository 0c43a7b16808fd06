/**
 * Configuration loading: `config/default.yaml` ← optional user file (`--config FILE`) ← environment
 * overrides ← webhook secrets from env/files, validated with zod into {@link Config}.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { ConfigSchema, FileConfigSchema, type Config, type WebhookClient } from "./config/schema.js";
import { configError, configProblem, stripUrlCredentials } from "./config/errors.js";
import { applyEnvOverrides } from "./config/env.js";
import { resolveClients } from "./config/secrets.js";

export type { Config, WebhookClient } from "./config/schema.js";
export { ENV_OVERRIDES } from "./config/env.js";

/** Path of the shipped defaults (`config/default.yaml` at the package root). */
export const DEFAULTS_FILE = fileURLToPath(new URL("../config/default.yaml", import.meta.url));

export interface LoadConfigOptions {
  /** A YAML file merged over the defaults (the CLI's `--config FILE`). Default: `env.GLMBOT_CONFIG`, else none. */
  file?: string;
  /** Environment to read overrides and secrets from. Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Defaults file. Default: {@link DEFAULTS_FILE}. */
  defaultsFile?: string;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => v !== null && typeof v === "object" && !Array.isArray(v);

/** Deep merge: objects merge key by key; arrays, scalars and `null` in `over` replace. */
function merge(base: unknown, over: unknown): unknown {
  if (!isPlain(base) || !isPlain(over)) return over === undefined ? base : over;
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = merge(base[key], value);
  return out;
}

function readYaml(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw configProblem(file, `cannot read file (${(err as NodeJS.ErrnoException).code ?? "read error"})`);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    // First line only: yaml's message is followed by a source excerpt, which must not reach logs.
    throw configProblem(file, `invalid YAML: ${doc.errors[0].message.split("\n")[0].replace(/:$/, "")}`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (!isPlain(value)) throw configProblem(file, "expected a mapping of sections at the top level");
  return value;
}

/**
 * Loads, merges and validates the configuration (synchronous: runs once at start-up).
 * @throws GlmbotError `config_invalid` whose message has one line per problem, each naming the key path and
 *   what was expected, e.g. `config: server.port (from GLMBOT_PORT): expected integer 1–65535, got "abc"`;
 *   unknown keys read `config: model.gpuu: unknown key`. Secret values are never quoted.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? (env.GLMBOT_CONFIG || undefined);
  let raw = readYaml(options.defaultsFile ?? DEFAULTS_FILE);
  if (file !== undefined) raw = merge(raw, readYaml(file)) as Plain;
  const sources = applyEnvOverrides(raw, env);
  const where = (path: string) => (sources.has(path) ? `${path} (from ${sources.get(path)})` : path);

  const parsed = FileConfigSchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error, raw, where);
  const clients = resolveClients(parsed.data.webhook.clients, env, sources);
  const resolved = { ...parsed.data, webhook: { ...parsed.data.webhook, clients } };
  const final = ConfigSchema.safeParse(resolved);
  if (!final.success) throw configError(final.error, resolved, where);
  return final.data;
}

/** A deep copy safe to log: client tokens/secrets become `"[redacted]"`, credentials in `memory.url` are masked. */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  copy.memory.url = stripUrlCredentials(copy.memory.url);
  copy.webhook.clients = copy.webhook.clients.map((c): WebhookClient => {
    const out: WebhookClient = { name: c.name };
    if (c.token !== undefined) out.token = "[redacted]";
    if (c.secret !== undefined) out.secret = "[redacted]";
    return out;
  });
  return copy;
}

/**
 * Effective CPU threads for `model.threads`: the configured value, or for 0 (auto)
 * `min(available cores, 8)` (token generation is memory-bound; more threads rarely help and starve the event loop).
 */
export function resolveThreads(threads: number, cores: number = availableParallelism()): number {
  return threads > 0 ? threads : Math.max(1, Math.min(cores, 8));
}
