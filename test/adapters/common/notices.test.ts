import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { errorText, finishMarker, queuePositionText, withFinishMarker, EMPTY_REPLY_TEXT } from "../../../src/adapters/common/notices.js";
import { ERROR_CODES, GlmbotError, type ErrorCode } from "../../../src/core/errors.js";

describe("notices", () => {
  test("queue position", () => {
    assert.equal(queuePositionText(3), "⏳ #3 in queue");
    assert.equal(queuePositionText(1), "⏳ #1 in queue");
  });

  test("input_too_long names the numbers and the limit", () => {
    const text = errorText(new GlmbotError("input_too_long", "x", { tokens: 2100, limit: 1536 }));
    assert.match(text, /2100 tokens; the limit is 1536/);
    assert.match(errorText(new GlmbotError("input_too_long", "x")), /too long/);
  });

  test("queue_full keeps core's reason and says when to try again", () => {
    const busy = new GlmbotError("queue_full", "The bot is busy (64 requests pending). Please try again shortly.", { retryAfterSeconds: 7 });
    assert.equal(errorText(busy), "🚦 The bot is busy (64 requests pending). Please try again in about 7 s.");
    const mine = new GlmbotError("queue_full", "You already have 3 requests pending. Please wait for them to finish.", { retryAfterSeconds: 7 });
    assert.equal(errorText(mine), "🚦 You already have 3 requests pending. Please wait for them to finish.");
  });

  test("every code gives a short, non-empty text; the chat codes have their own", () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const text = errorText(new GlmbotError(code, "Safe message."));
      assert.ok(text.trim().length > 0 && text.length < 200, code);
    }
    for (const code of ["generation_timeout", "model_not_ready", "shutting_down", "generation_failed"] as const) {
      assert.doesNotMatch(errorText(new GlmbotError(code, "Safe message.")), /Safe message/, code);
    }
  });

  test("finish markers", () => {
    assert.equal(finishMarker("stop"), "");
    assert.equal(withFinishMarker("Hi", "stop"), "Hi");
    assert.equal(withFinishMarker("Partial answer \n", "cancelled"), "Partial answer\n\n⏹️ (stopped)");
    assert.match(withFinishMarker("x", "timeout"), /took too long/);
    assert.match(withFinishMarker("x", "length"), /length limit/);
    assert.ok(EMPTY_REPLY_TEXT.trim().length > 0);
  });

  test("core's empty-reply failure reads as the empty-reply notice", () => {
    assert.equal(errorText(new GlmbotError("generation_failed", "The model returned an empty reply.", { reason: "empty_reply" })), EMPTY_REPLY_TEXT);
  });
});
