/**
 * The Slack adapter's options: the YAML `slack:` section ({@link SlackSectionSchema}, every key defaulted,
 * no secrets) plus secrets and the API base from the environment ({@link resolveSlackOptions}).
 *
 * Environment: `SLACK_BOT_TOKEN` (xoxb-…), `SLACK_SIGNING_SECRET` (HTTP mode), `SLACK_APP_TOKEN` (xapp-…,
 * Socket Mode), `SLACK_API_URL` (Web API base, e.g. `https://slack-gov.com/api/` for GovSlack),
 * `GLMBOT_SLACK_PORT` (HTTP mode port). Secrets may not be written in the YAML file.
 */
import { z } from "zod";
import { GlmbotError } from "../../core/errors.js";

const MINUTE = 60_000;
const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const ids = (prefix: RegExp, what: string) => z.array(z.string().regex(prefix, `expected ${what} ids`)).default([]);
const secret = (field: string, env: string) =>
  z.undefined({ errorMap: () => ({ message: `secrets may not be written in the config file; set ${env} instead (${field})` }) }).optional();

/** The YAML `slack:` section (all keys optional; defaults below). */
export const SlackSectionSchema = z
  .object({
    /** `auto`: on when SLACK_BOT_TOKEN is set. */
    enabled: z.union([z.boolean(), z.literal("auto")]).default("auto"),
    /** `auto`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP (Events API). */
    mode: z.enum(["auto", "socket", "http"]).default("auto"),
    /** Web API base; SLACK_API_URL overrides. Must end with "/". */
    apiUrl: z.string().regex(/^https?:\/\/\S+\/$/, 'expected an http(s) URL ending with "/"').default("https://slack.com/api/"),
    /** HTTP mode: Bolt's own receiver (a separate port from glmbot's webhook server). */
    http: z
      .object({
        host: z.string().min(1).default("0.0.0.0"),
        port: z.number().int().min(0).max(65535).default(3000),
        path: z.string().regex(/^\/\S*$/).default("/slack/events"),
      })
      .strict()
      .default({}),
    /** `update`: post once, then chat.update; `native`: chat.startStream/appendStream/stopStream (needs assistant:write), falling back to `update`. */
    streaming: z.enum(["update", "native"]).default("update"),
    /** Minimum time between two edits (or stream appends) of one reply, ms. chat.update is Tier 3 (~50/min). */
    updateIntervalMs: ms(50, 60_000).default(1000),
    /** Show "is thinking…" with assistant.threads.setStatus (turned off by itself when the app lacks it). */
    assistantStatus: z.boolean().default(true),
    /** Characters per message (one section block; Slack's limit is 3,000). Longer replies continue in the thread. */
    maxMessageChars: z.number().int().min(200).max(3000).default(3000),
    /** Channels where the bot answers (ids `C…`/`G…`); empty = every channel it is in. */
    allowedChannels: ids(/^[CG][A-Z0-9]+$/, "channel"),
    /** Users who may use the bot anywhere (ids `U…`/`W…`); empty = everyone. */
    allowedUsers: ids(/^[UW][A-Z0-9]+$/, "user"),
    /** DMs: `open` (every user allowed by allowedUsers), `allowlist` (only users listed in allowedUsers), `off`. */
    dmPolicy: z.enum(["open", "allowlist", "off"]).default("open"),
    /** Answer later messages in a thread where the bot has answered, without a new @mention. */
    threadFollowUps: z.boolean().default(true),
    /** Slash command name. */
    slashCommand: z.string().regex(/^\/[a-z0-9_-]{1,31}$/, 'expected "/name"').default("/glm"),
    /** How long delivered event ids and message timestamps are remembered, ms (≥ 10 min: Slack retries for ~5). */
    dedupeTtlMs: ms(10 * MINUTE, 7 * 24 * 60 * MINUTE).default(60 * MINUTE),
    /** How long a thread the bot answered stays "followed", ms. */
    threadTtlMs: ms(MINUTE, 365 * 24 * 60 * MINUTE).default(7 * 24 * 60 * MINUTE),
    /** users.info results are cached this long, ms. */
    userCacheTtlMs: ms(0, 24 * 60 * MINUTE).default(60 * MINUTE),
    botToken: secret("botToken", "SLACK_BOT_TOKEN"),
    signingSecret: secret("signingSecret", "SLACK_SIGNING_SECRET"),
    appToken: secret("appToken", "SLACK_APP_TOKEN"),
  })
  .strict();

export type SlackSection = z.output<typeof SlackSectionSchema>;

/** Resolved options: the section with `enabled`/`mode` decided and secrets filled in. */
export interface SlackOptions extends Omit<SlackSection, "enabled" | "mode" | "botToken" | "signingSecret" | "appToken"> {
  enabled: boolean;
  mode: "socket" | "http";
  botToken: string;
  signingSecret: string;
  appToken: string;
}

/** Variables read by {@link resolveSlackOptions}. */
export const SLACK_ENV = ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "GLMBOT_SLACK_PORT"] as const;

/**
 * Validates the `slack:` section (`undefined` = all defaults) and applies the environment.
 * @throws GlmbotError `config_invalid` naming each bad key (`slack.http.port: …`), a secret written in the
 *   file, or a missing token for the chosen mode (`SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN` / `SLACK_SIGNING_SECRET`).
 */
export function resolveSlackOptions(section: unknown, env: NodeJS.ProcessEnv = process.env): SlackOptions {
  const raw: Record<string, unknown> = { ...((section ?? {}) as Record<string, unknown>) };
  const get = (name: (typeof SLACK_ENV)[number]) => (env[name] ?? "").trim();
  if (get("SLACK_API_URL")) raw.apiUrl = get("SLACK_API_URL");
  if (typeof raw.apiUrl === "string") raw.apiUrl = withSlash(raw.apiUrl.trim());
  if (get("GLMBOT_SLACK_PORT")) {
    const port = get("GLMBOT_SLACK_PORT");
    raw.http = { ...((raw.http ?? {}) as object), port: /^\d+$/.test(port) ? Number(port) : port };
  }
  const parsed = SlackSectionSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `slack.${i.path.join(".")}: ${i.message}`);
    throw new GlmbotError("config_invalid", `Invalid Slack configuration:\n${lines.join("\n")}`);
  }
  const { enabled, mode, botToken: _b, signingSecret: _s, appToken: _a, ...rest } = parsed.data;
  const botToken = get("SLACK_BOT_TOKEN");
  const appToken = get("SLACK_APP_TOKEN");
  const signingSecret = get("SLACK_SIGNING_SECRET");
  const on = enabled === "auto" ? botToken !== "" : enabled;
  const resolved: SlackOptions = { ...rest, enabled: on, mode: mode === "auto" ? (appToken ? "socket" : "http") : mode, botToken, appToken, signingSecret };
  if (!on) return resolved;
  const problems: string[] = [];
  if (!/^xoxb-\S+$/.test(botToken)) problems.push("SLACK_BOT_TOKEN: expected a bot token (xoxb-…)");
  if (resolved.mode === "socket" && !/^xapp-\S+$/.test(appToken)) problems.push("SLACK_APP_TOKEN: expected an app-level token (xapp-…) for Socket Mode");
  if (resolved.mode === "http" && signingSecret.length < 16) problems.push("SLACK_SIGNING_SECRET: expected the app's signing secret for HTTP mode");
  if (problems.length > 0) throw new GlmbotError("config_invalid", `Invalid Slack configuration:\n${problems.join("\n")}`);
  return resolved;
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}
