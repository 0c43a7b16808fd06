/**
 * glmbot's logger: pino, JSON lines (one object per line; `time` in Unix ms, `level` as pino's number) for log
 * collectors, or human-readable lines (pino-pretty, in-process and synchronous, so nothing is lost on exit)
 * when stdout is a terminal. Level from `log.level`.
 *
 * Secrets are kept out twice:
 * 1. `redact` masks fields that hold credentials wherever a caller logs them (authorization headers, webhook
 *    signatures, cookies, `token` / `secret` / `password` / Slack and Discord token fields, one level deep);
 * 2. every secret value this process knows (webhook client tokens and secrets, `DISCORD_TOKEN`, `SLACK_*`
 *    tokens, `HF_TOKEN`, the Redis password) is replaced by `[redacted]` in the final line, so one that slips
 *    into a message or an error text is masked too.
 */
import { destination as pinoDestination, pino, type DestinationStream, type Logger } from "pino";
import pretty from "pino-pretty";
import type { Config } from "../config.js";

export const REDACTED = "[redacted]";

/** Field paths masked by pino's `redact` (fast-redact syntax). */
export const REDACT_PATHS: readonly string[] = [
  "authorization",
  "headers.authorization",
  'headers["x-glmbot-signature"]',
  "headers.cookie",
  "req.headers.authorization",
  'req.headers["x-glmbot-signature"]',
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  ...["token", "secret", "password", "botToken", "appToken", "signingSecret", "apiKey"].flatMap((k) => [k, `*.${k}`]),
  "config.webhook.clients[*].token",
  "config.webhook.clients[*].secret",
];

/** Environment variables whose values are credentials (never logged). */
export const SECRET_ENV = ["GLMBOT_WEBHOOK_TOKEN", "GLMBOT_WEBHOOK_SECRET", "DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "HF_TOKEN"] as const;

/** Every secret value in `config` (resolved webhook clients, Redis password) and `env` (see {@link SECRET_ENV}). */
export function collectSecrets(config: Config | undefined, env: NodeJS.ProcessEnv): string[] {
  const values = new Set<string>();
  for (const name of SECRET_ENV) if (env[name]) values.add(env[name]!.trim());
  for (const client of config?.webhook.clients ?? []) {
    if (client.token) values.add(client.token);
    if (client.secret) values.add(client.secret);
  }
  const url = config?.memory.url;
  if (url) {
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) values.add(password);
    } catch {
      // the schema validated the URL; nothing to add
    }
  }
  // Short values would mask ordinary words; the schema requires ≥ 16 characters for webhook secrets.
  return [...values].filter((v) => v.length >= 8).sort((a, b) => b.length - a.length);
}

/** Replaces each secret (and its JSON-escaped form) in `line`. */
export function scrub(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
  }
  return out;
}

export interface LoggerOptions {
  level: Config["log"]["level"];
  /** Human-readable output (default: `process.stdout.isTTY`). */
  pretty?: boolean;
  /** Values to mask in every line (see {@link collectSecrets}). */
  secrets?: readonly string[];
  /** Where lines go (default stdout, file descriptor 1, synchronously). */
  output?: NodeJS.WritableStream;
}

/** Creates the process logger. Child loggers (`log.child({component})`) inherit redaction and scrubbing. */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets ?? [];
  const usePretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const destination: DestinationStream = usePretty
    ? pretty({ colorize: options.output === undefined, sync: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", destination: options.output ?? 1 })
    : (options.output ?? pinoDestination({ dest: 1, sync: true }));
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
      ...(secrets.length > 0 ? { hooks: { streamWrite: (line: string) => scrub(line, secrets) } } : {}),
    },
    destination,
  );
}
