import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { DiscordSectionSchema, resolveDiscordOptions } from "../../../src/adapters/discord/config.js";
import { isGlmbotError } from "../../../src/core/errors.js";

describe("Discord options", () => {
  test("every key has a default", () => {
    assert.deepEqual(DiscordSectionSchema.parse({}), {
      apiBase: "https://discord.com/api",
      messageContentIntent: true,
      dmPolicy: "open",
      ignoreBots: true,
      answerWithoutMention: [],
      autoThread: false,
      autoThreadArchiveMinutes: 1440,
      editIntervalMs: 1000,
      access: { guildIds: [], channelIds: [], roleIds: [], userIds: [] },
      commands: { register: true, name: "glm", scope: "global", guildIds: [] },
      startupTimeoutMs: 60_000,
    });
  });

  test("no DISCORD_TOKEN: the adapter is off", () => {
    assert.equal(resolveDiscordOptions(undefined, {}), undefined);
    assert.equal(resolveDiscordOptions({ dmPolicy: "off" }, { DISCORD_TOKEN: "  " }), undefined);
  });

  test("the token and overrides come from the environment", () => {
    const options = resolveDiscordOptions(
      { editIntervalMs: 1500 },
      { DISCORD_TOKEN: " abc.def ", DISCORD_API_BASE: "http://127.0.0.1:9999/api", DISCORD_DM_POLICY: "allowlist", DISCORD_MESSAGE_CONTENT_INTENT: "false", DISCORD_AUTO_THREAD: "yes" },
    );
    assert.equal(options?.token, "abc.def");
    assert.equal(options?.apiBase, "http://127.0.0.1:9999/api");
    assert.equal(options?.dmPolicy, "allowlist");
    assert.equal(options?.messageContentIntent, false);
    assert.equal(options?.autoThread, true);
    assert.equal(options?.editIntervalMs, 1500);
  });

  test("DISCORD_TOKEN_FILE", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "glmbot-token-"));
    const file = path.join(dir, "token");
    await writeFile(file, "from-a-file\n");
    assert.equal(resolveDiscordOptions({}, { DISCORD_TOKEN_FILE: file })?.token, "from-a-file");
    assert.throws(() => resolveDiscordOptions({}, { DISCORD_TOKEN_FILE: path.join(dir, "missing") }), (e) => isGlmbotError(e, "config_invalid") && /ENOENT/u.test(e.message));
    await rm(dir, { recursive: true });
  });

  test("bad values name the key (and the variable), never the token", () => {
    const check = (section: unknown, env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(() => resolveDiscordOptions(section, { DISCORD_TOKEN: "secret-token", ...env }), (e) => isGlmbotError(e, "config_invalid") && pattern.test(e.message) && !e.message.includes("secret-token"));
    check({}, { DISCORD_DM_POLICY: "sometimes" }, /discord\.dmPolicy \(from DISCORD_DM_POLICY\)/u);
    check({}, { DISCORD_MESSAGE_CONTENT_INTENT: "maybe" }, /discord\.messageContentIntent \(from DISCORD_MESSAGE_CONTENT_INTENT\)/u);
    check({ access: { guildIds: ["abc"] } }, {}, /discord\.access\.guildIds\.0: expected a Discord id/u);
    check({ editIntervalMs: 10 }, {}, /discord\.editIntervalMs/u);
    check({ autoThreadArchiveMinutes: 30 }, {}, /discord\.autoThreadArchiveMinutes/u);
    check({ tokne: "x" }, {}, /unrecognized key/u);
    check({ commands: { name: "GLM Bot" } }, {}, /discord\.commands\.name/u);
  });
});
