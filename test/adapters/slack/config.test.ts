import { test } from "node:test";
import assert from "node:assert/strict";
import { resolveSlackOptions } from "../../../src/adapters/slack/config.js";
import { isGlmbotError } from "../../../src/core/errors.js";

const SECRET = "0123456789abcdef0123";

test("defaults: off without a bot token; every key has a default", () => {
  const o = resolveSlackOptions(undefined, {});
  assert.equal(o.enabled, false);
  assert.equal(o.mode, "http");
  assert.equal(o.apiUrl, "https://slack.com/api/");
  assert.deepEqual(o.http, { host: "0.0.0.0", port: 3000, path: "/slack/events" });
  assert.equal(o.streaming, "update");
  assert.equal(o.updateIntervalMs, 1000);
  assert.equal(o.maxMessageChars, 3000);
  assert.equal(o.dmPolicy, "open");
  assert.equal(o.slashCommand, "/glm");
  assert.ok(o.dedupeTtlMs >= 600_000);
});

test("env: tokens pick the transport; SLACK_API_URL and GLMBOT_SLACK_PORT override", () => {
  const socket = resolveSlackOptions({}, { SLACK_BOT_TOKEN: "xoxb-1", SLACK_APP_TOKEN: "xapp-1", SLACK_API_URL: "http://127.0.0.1:9/api" });
  assert.equal(socket.enabled, true);
  assert.equal(socket.mode, "socket");
  assert.equal(socket.apiUrl, "http://127.0.0.1:9/api/");
  const http = resolveSlackOptions({ http: { host: "127.0.0.1" } }, { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: SECRET, GLMBOT_SLACK_PORT: "3100" });
  assert.equal(http.mode, "http");
  assert.deepEqual(http.http, { host: "127.0.0.1", port: 3100, path: "/slack/events" });
  assert.equal(http.signingSecret, SECRET);
});

test("errors name the key or variable; secrets may not be written in the file", () => {
  const fails = (section: unknown, env: Record<string, string>, pattern: RegExp) => {
    assert.throws(() => resolveSlackOptions(section, env), (e: unknown) => isGlmbotError(e, "config_invalid") && pattern.test(e.message));
  };
  fails({ updateIntervalMs: 10 }, {}, /slack\.updateIntervalMs/);
  fails({ bogus: 1 }, {}, /Unrecognized key/);
  fails({ botToken: "xoxb-1" }, {}, /SLACK_BOT_TOKEN/);
  fails({ dmPolicy: "maybe" }, {}, /slack\.dmPolicy/);
  fails({ dedupeTtlMs: 60_000 }, {}, /slack\.dedupeTtlMs/);
  fails({}, { SLACK_BOT_TOKEN: "xoxb-1" }, /SLACK_SIGNING_SECRET/);
  fails({ mode: "socket" }, { SLACK_BOT_TOKEN: "xoxb-1" }, /SLACK_APP_TOKEN/);
  fails({ enabled: true }, {}, /SLACK_BOT_TOKEN/);
  fails({}, { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: SECRET, GLMBOT_SLACK_PORT: "abc" }, /slack\.http\.port/);
});

test("the shipped app manifest has the scopes, events and command the adapter uses", async () => {
  const { readFile } = await import("node:fs/promises");
  const { parse } = await import("yaml");
  const manifest = parse(await readFile(new URL("../../../config/slack-app-manifest.yaml", import.meta.url), "utf8"));
  const scopes: string[] = manifest.oauth_config.scopes.bot;
  for (const scope of ["app_mentions:read", "channels:history", "groups:history", "im:history", "mpim:history", "chat:write", "users:read", "commands", "assistant:write"]) {
    assert.ok(scopes.includes(scope), scope);
  }
  assert.deepEqual(manifest.settings.event_subscriptions.bot_events, ["app_mention", "message.channels", "message.groups", "message.im", "message.mpim"]);
  assert.equal(manifest.features.slash_commands[0].command, resolveSlackOptions(undefined, {}).slashCommand);
  assert.equal(manifest.features.app_home.messages_tab_enabled, true);
  assert.equal(manifest.settings.interactivity.is_enabled, true);
});
