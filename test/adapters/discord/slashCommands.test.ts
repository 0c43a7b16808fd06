import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStopCustomId, rejectEditRateLimits, retryAfterMs, stopCustomId } from "../../../src/adapters/discord/channelTarget.js";
import { commandOf, isPrivateAnswer, needsManageGuild, slashCommandDefinition } from "../../../src/adapters/discord/slashCommands.js";
import { RateLimitError } from "discord.js";

describe("slash command", () => {
  test("definition: /glm with reset, system <text>, status, help; usable in guilds and DMs", () => {
    const def = slashCommandDefinition("glm");
    assert.equal(def.name, "glm");
    assert.deepEqual(def.options?.map((o) => [o.name, o.type]), [["reset", 1], ["system", 1], ["status", 1], ["help", 1]]);
    const system = def.options?.[1] as { options: Array<{ name: string; type: number; required: boolean }> };
    assert.deepEqual(system.options.map((o) => [o.name, o.type, o.required]), [["text", 3, true]]);
    assert.deepEqual(def.contexts, [0, 1]);
  });

  test("subcommands map to core commands", () => {
    assert.deepEqual(commandOf("reset"), { name: "reset" });
    assert.deepEqual(commandOf("status"), { name: "status" });
    assert.deepEqual(commandOf("help"), { name: "help" });
    assert.deepEqual(commandOf("system", "  Be brief. "), { name: "system", text: "Be brief." });
    assert.deepEqual(commandOf("system", "Reset"), { name: "system_reset" });
    assert.equal(commandOf("nope"), undefined);
  });

  test("who may run what, and who sees the answer", () => {
    assert.equal(needsManageGuild({ name: "system", text: "x" }), true);
    assert.equal(needsManageGuild({ name: "system_reset" }), true);
    assert.equal(needsManageGuild({ name: "reset" }), false);
    assert.equal(isPrivateAnswer({ name: "status" }), true);
    assert.equal(isPrivateAnswer({ name: "reset" }), false);
  });
});

describe("channel target helpers", () => {
  test("stop button custom ids", () => {
    assert.equal(stopCustomId("123"), "glmbot:stop:123");
    assert.equal(parseStopCustomId("glmbot:stop:123"), "123");
    assert.equal(parseStopCustomId("other:1"), undefined);
  });

  test("only channel message edits are handed to the pacer on a 429", () => {
    const data = { method: "PATCH", route: "/channels/:id/messages/:id" } as Parameters<typeof rejectEditRateLimits>[0];
    assert.equal(rejectEditRateLimits(data), true);
    assert.equal(rejectEditRateLimits({ ...data, method: "POST", route: "/channels/:id/messages" }), false);
    assert.equal(rejectEditRateLimits({ ...data, route: "/webhooks/:id/:token/messages/@original" }), false);
  });

  test("retryAfterMs reads discord.js's RateLimitError", () => {
    const error = new RateLimitError({ timeToReset: 300, limit: 5, method: "PATCH", hash: "h", url: "u", route: "/channels/:id/messages/:id", majorParameter: "1", global: false, retryAfter: 350, sublimitTimeout: 0, scope: "user" });
    assert.equal(retryAfterMs(error), 350);
    assert.equal(retryAfterMs(new Error("x")), undefined);
  });
});
