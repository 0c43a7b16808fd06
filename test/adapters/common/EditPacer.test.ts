import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EditPacer } from "../../../src/adapters/common/EditPacer.js";
import { FakeClock, flush } from "../../fixtures/FakeClock.js";

class RateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super("429");
  }
}

/** A pacer over a recording apply; `script` decides each call's outcome (default: succeed at once). */
function setup(options: { intervalMs?: number; script?: (value: string, call: number) => Error | undefined; maxRetryAfterMs?: number } = {}) {
  const clock = new FakeClock(0);
  const applied: Array<{ value: string; at: number }> = [];
  const errors: unknown[] = [];
  let active = 0;
  let maxActive = 0;
  const pacer = new EditPacer<string>({
    clock,
    intervalMs: options.intervalMs ?? 1000,
    maxRetryAfterMs: options.maxRetryAfterMs,
    retryAfterMs: (error) => (error instanceof RateLimited ? error.retryAfterMs : undefined),
    onError: (error) => errors.push(error),
    apply: async (value) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await flush();
      active--;
      const error = options.script?.(value, applied.length);
      applied.push({ value, at: clock.now() });
      if (error) throw error;
    },
  });
  return { clock, pacer, applied, errors, maxActive: () => maxActive };
}

describe("EditPacer", () => {
  test("applies the first value at once and coalesces the rest to one apply per interval", async () => {
    const { clock, pacer, applied, maxActive } = setup();
    pacer.update("a");
    await flush();
    pacer.update("ab");
    pacer.update("abc");
    await clock.advanceAsync(999);
    assert.deepEqual(applied.map((a) => a.value), ["a"]);
    await clock.advanceAsync(1);
    assert.deepEqual(applied, [{ value: "a", at: 0 }, { value: "abc", at: 1000 }]);
    assert.equal(maxActive(), 1, "never two applies at once");
  });

  test("finish applies the final value after the interval and resolves; later updates are ignored", async () => {
    const { clock, pacer, applied } = setup();
    pacer.update("a");
    await flush();
    let done = false;
    const finished = pacer.finish("final").then(() => (done = true));
    pacer.update("ignored");
    await clock.advanceAsync(500);
    assert.equal(done, false);
    await clock.advanceAsync(500);
    await finished;
    assert.deepEqual(applied.map((a) => [a.value, a.at]), [["a", 0], ["final", 1000]]);
  });

  test("a 429 is waited out (retry_after, at least the interval), then the newest value is applied", async () => {
    const { clock, pacer, applied } = setup({ script: (_v, call) => (call === 1 ? new RateLimited(3000) : undefined) });
    pacer.update("a");
    await clock.advanceAsync(1000);
    pacer.update("ab"); // applied at 1000 → 429
    await clock.advanceAsync(0);
    pacer.update("abc");
    await clock.advanceAsync(2999);
    assert.deepEqual(applied.map((a) => a.value), ["a", "ab"]);
    await clock.advanceAsync(1);
    assert.deepEqual(applied.map((a) => [a.value, a.at]), [["a", 0], ["ab", 1000], ["abc", 4000]]);
  });

  test("a rate-limited final value is retried, never dropped", async () => {
    const { clock, pacer, applied } = setup({ script: (_v, call) => (call < 3 ? new RateLimited(2000) : undefined) });
    const finished = pacer.finish("final");
    await clock.advanceAsync(10_000);
    await finished;
    assert.deepEqual(applied.map((a) => [a.value, a.at]), [["final", 0], ["final", 2000], ["final", 4000], ["final", 6000]]);
  });

  test("finish rejects on a failure that is not a rate limit, or a retry_after over the maximum", async () => {
    const broken = setup({ script: () => new Error("403") });
    await assert.rejects(broken.pacer.finish("x"), /403/);
    const tooLong = setup({ script: () => new RateLimited(120_000), maxRetryAfterMs: 60_000 });
    await assert.rejects(tooLong.pacer.finish("x"), /429/);
  });

  test("finish gives up after maxRateLimitRetries rate limits in a row", async () => {
    const { clock, pacer, applied } = setup({ script: () => new RateLimited(10) });
    const finished = pacer.finish("x");
    const outcome = finished.then(() => "resolved", () => "rejected");
    await clock.advanceAsync(10_000);
    assert.equal(await outcome, "rejected");
    assert.equal(applied.length, 6, "first try + 5 retries");
  });

  test("an intermediate failure goes to onError and the next value is still applied", async () => {
    const { clock, pacer, applied, errors } = setup({ script: (v) => (v === "a" ? new Error("500") : undefined) });
    pacer.update("a");
    await flush();
    await flush();
    assert.equal(errors.length, 1);
    const finished = pacer.finish("ab");
    await clock.advanceAsync(1000);
    await finished;
    assert.deepEqual(applied.map((a) => a.value), ["a", "ab"]);
  });

  test("abandon drops pending values and clears timers", async () => {
    const { clock, pacer, applied } = setup();
    pacer.update("a");
    await flush();
    pacer.update("b");
    pacer.abandon();
    await clock.advanceAsync(5000);
    assert.deepEqual(applied.map((a) => a.value), ["a"]);
    assert.equal(clock.pending, 0);
  });
});
