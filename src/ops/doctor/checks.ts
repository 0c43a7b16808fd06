/**
 * Start-up checks for `glmbot doctor`. Each returns {@link Check}s; `fail` means `glmbot serve` would not start
 * (or not work), `warn` means it starts but something deserves a look. Credentials are checked for presence
 * and shape only; their values are never printed.
 *
 * - adapters: webhook (`assertSafeBind`: a non-loopback host needs a client with a token or secret),
 *   Discord (`resolveDiscordOptions`: `DISCORD_TOKEN` / `DISCORD_TOKEN_FILE`, enabled when set) and Slack
 *   (`resolveSlackOptions`: `SLACK_BOT_TOKEN` + `SLACK_APP_TOKEN` or `SLACK_SIGNING_SECRET`) — the adapters'
 *   own resolvers, so doctor fails exactly where `serve` would; plus shape hints (warnings);
 * - the HTTP port can be bound; the data directory is writable;
 * - the memory store (SQLite file, or Redis with a short timeout) answers a `get`.
 */
import { randomUUID } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import type { Config } from "../../config.js";
import { stripUrlCredentials } from "../../config/errors.js";
import { resolveDiscordOptions } from "../../adapters/discord/config.js";
import { resolveSlackOptions } from "../../adapters/slack/config.js";
import { assertSafeBind, isLoopbackHost } from "../../adapters/webhook/auth.js";
import { createConversationStore } from "../../core/memory.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  status: CheckStatus;
  /** What was checked, e.g. `port`, `slack`. */
  name: string;
  /** One line for the operator (never a secret value). */
  detail: string;
}

const set = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? "").trim() !== "";
const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n").map((l) => l.trim()).filter(Boolean).join("; ");

/** Webhook, Discord and Slack credentials (presence and shape). */
export function checkAdapters(config: Config, env: NodeJS.ProcessEnv): Check[] {
  const checks: Check[] = [];
  const w = config.webhook;
  if (!w.enabled) checks.push({ status: "ok", name: "webhook", detail: "disabled (webhook.enabled: false)" });
  else {
    try {
      assertSafeBind(config.server.host, w.clients);
      const clients = w.clients.map((c) => `${c.name} (${[c.token && "token", c.secret && "secret"].filter(Boolean).join(" + ")})`);
      const who = clients.length > 0 ? `clients: ${clients.join(", ")}` : "no clients: unauthenticated, loopback only";
      checks.push({ status: "ok", name: "webhook", detail: `enabled on ${config.server.host}; ${who}` });
    } catch (err) {
      checks.push({ status: "fail", name: "webhook", detail: (err as Error).message });
    }
  }

  // Discord and Slack: the adapters' own resolvers, exactly what `serve` runs at start-up.
  try {
    const discord = resolveDiscordOptions(config.discord, env);
    if (!discord) checks.push({ status: "ok", name: "discord", detail: "disabled (DISCORD_TOKEN / DISCORD_TOKEN_FILE not set)" });
    else if (!/^[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}$/.test(discord.token))
      checks.push({ status: "warn", name: "discord", detail: "the Discord token is set but does not look like a bot token (three dot-separated parts); Discord will refuse it if it is wrong" });
    else checks.push({ status: "ok", name: "discord", detail: `enabled; the bot token is set (DM policy ${discord.dmPolicy})` });
  } catch (err) {
    checks.push({ status: "fail", name: "discord", detail: oneLine(err) });
  }
  try {
    const slack = resolveSlackOptions(config.slack, env);
    if (slack.enabled) checks.push({ status: "ok", name: "slack", detail: `enabled (${slack.mode === "socket" ? "Socket Mode, SLACK_APP_TOKEN" : "HTTP Events API, SLACK_SIGNING_SECRET"}); SLACK_BOT_TOKEN is set` });
    else if (set(env, "SLACK_APP_TOKEN") || set(env, "SLACK_SIGNING_SECRET"))
      checks.push({ status: "warn", name: "slack", detail: "SLACK_APP_TOKEN / SLACK_SIGNING_SECRET are set but SLACK_BOT_TOKEN is not: Slack stays off" });
    else checks.push({ status: "ok", name: "slack", detail: "disabled (SLACK_BOT_TOKEN not set)" });
  } catch (err) {
    checks.push({ status: "fail", name: "slack", detail: oneLine(err) });
  }
  return checks;
}

/** Binds `host:port` for a moment. Port 0 (any free port) always passes. */
export function checkPort(host: string, port: number): Promise<Check> {
  if (port === 0) return Promise.resolve({ status: "ok", name: "port", detail: `server.port is 0: any free port on ${host}` });
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why =
        err.code === "EADDRINUSE" ? "is in use (is glmbot already running?)" : err.code === "EACCES" ? "needs privileges (ports below 1024)" : err.code === "EADDRNOTAVAIL" ? "is not an address of this machine" : `cannot be bound (${err.code ?? err.message})`;
      resolve({ status: "fail", name: "port", detail: `${host}:${port} ${why}` });
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => resolve({ status: "ok", name: "port", detail: `${host}:${port} is free${isLoopbackHost(host) ? " (this machine only)" : ""}` }));
    });
  });
}

/** Creates the directory if needed and writes/removes a probe file. */
export async function checkDataDir(dir: string): Promise<Check> {
  const abs = path.resolve(dir);
  const probe = path.join(abs, `.glmbot-doctor-${randomUUID()}`);
  try {
    await mkdir(abs, { recursive: true });
    await writeFile(probe, "ok");
    await rm(probe, { force: true });
    return { status: "ok", name: "data directory", detail: `${abs} is writable` };
  } catch (err) {
    return { status: "fail", name: "data directory", detail: `${abs} is not writable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
}

/** Opens the configured store, reads one key, closes it. Redis gets `timeoutMs` (default 3 000) in all. */
export async function checkMemoryStore(config: Config, timeoutMs = 3_000): Promise<Check> {
  const url = config.memory.url;
  const what = url ? `Redis ${stripUrlCredentials(url)}` : `SQLite ${path.resolve(config.dataDir, "glmbot.sqlite")}`;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
  });
  let store: Awaited<ReturnType<typeof createConversationStore>> | undefined;
  try {
    const opening = createConversationStore({ url: url || undefined, dataDir: config.dataDir, maxTurns: 2, idleTtlMs: 0 });
    opening.then((s) => (store = s)).catch(() => undefined);
    const opened = await Promise.race([opening, timeout]);
    await Promise.race([opened.get("doctor:probe"), timeout]);
    return { status: "ok", name: "memory", detail: `${what} answers` };
  } catch (err) {
    return { status: "fail", name: "memory", detail: `${what} does not answer: ${(err as Error).message.split("\n")[0]}` };
  } finally {
    clearTimeout(timer);
    await Promise.race([store?.close(), new Promise((r) => setTimeout(r, 500).unref())]).catch(() => undefined);
  }
}
