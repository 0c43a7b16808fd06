import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GlmbotError, isGlmbotError } from "../../src/core/errors.js";
import { type FairJob, FairQueue, type FairQueueOptions } from "../../src/core/FairQueue.js";
import { FakeClock } from "../fixtures/FakeClock.js";
import { prng } from "../fixtures/prng.js";

/** A queue whose jobs run until the test finishes them; records start order and invariants. */
function harness(options: Partial<FairQueueOptions> = {}) {
  const clock = new FakeClock();
  const queue = new FairQueue({ concurrency: 1, clock, ...options });
  const started: string[] = [];
  const running = new Map<string, { finish(): void; signal: AbortSignal; key: string }>();
  const runningKeys = new Map<string, number>();
  const violations: string[] = [];
  const positions = new Map<string, number[]>();
  let waiters: (() => void)[] = [];
  const add = (key: string, name: string, userId = name, behaviour: "normal" | "ignoreAbort" = "normal"): FairJob =>
    queue.enqueue({
      key,
      userId,
      onPosition: (p) => positions.set(name, [...(positions.get(name) ?? []), p]),
      run: (signal) =>
        new Promise<void>((resolve) => {
          started.push(name);
          runningKeys.set(key, (runningKeys.get(key) ?? 0) + 1);
          if (runningKeys.get(key)! > 1) violations.push(`two jobs of ${key} at once`);
          if (running.size + 1 > (options.concurrency ?? 1)) violations.push(`over concurrency at ${name}`);
          const finish = () => {
            if (!running.delete(name)) return;
            runningKeys.set(key, runningKeys.get(key)! - 1);
            resolve();
          };
          running.set(name, { finish, signal, key });
          if (behaviour === "normal") signal.addEventListener("abort", finish, { once: true });
          for (const w of waiters) w();
          waiters = [];
        }),
    });
  /** Waits until `n` jobs have started. */
  const startedCount = async (n: number) => {
    while (started.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const finish = async (name: string) => {
    const job = running.get(name);
    assert.ok(job, `${name} is not running (running: ${[...running.keys()]})`);
    job.finish();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { clock, queue, started, running, add, startedCount, finish, violations, positions };
}

describe("FairQueue", () => {
  it("runs one job per key at a time, FIFO within the key", async () => {
    const h = harness({ concurrency: 4 });
    h.add("A", "a1");
    h.add("A", "a2");
    h.add("A", "a3");
    await h.startedCount(1);
    assert.deepEqual(h.started, ["a1"]);
    await h.finish("a1");
    await h.finish("a2");
    await h.finish("a3");
    assert.deepEqual(h.started, ["a1", "a2", "a3"]);
    assert.deepEqual(h.violations, []);
  });

  it("a burst in one key does not make another key wait behind it", async () => {
    const h = harness({ concurrency: 1, maxPendingPerUser: 64 });
    for (let i = 1; i <= 10; i++) h.add("A", `a${i}`, "alice");
    h.add("B", "b1", "bob");
    await h.startedCount(1);
    await h.finish("a1");
    assert.deepEqual(h.started, ["a1", "b1"]);
    assert.deepEqual(h.positions.get("b1"), [1], "b1 was announced as next right away");
    await h.finish("b1");
    for (let i = 2; i <= 10; i++) await h.finish(`a${i}`);
    assert.deepEqual(h.started, ["a1", "b1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"]);
  });

  it("round-robins across several keys and uses all slots", async () => {
    const h = harness({ concurrency: 2, maxPendingPerUser: 64 });
    for (const key of ["A", "B", "C"]) for (let i = 1; i <= 2; i++) h.add(key, `${key}${i}`, "u");
    await h.startedCount(2);
    assert.deepEqual(h.started, ["A1", "B1"]);
    assert.equal(h.queue.running, 2);
    assert.equal(h.queue.waiting, 4);
    await h.finish("A1");
    await h.finish("B1");
    assert.deepEqual(h.started, ["A1", "B1", "C1", "A2"]);
    await h.finish("C1");
    await h.finish("A2");
    assert.deepEqual(h.started.slice(4), ["B2", "C2"]);
    assert.deepEqual(h.violations, []);
  });

  it("reports positions and notifies each change", async () => {
    const h = harness({ concurrency: 1, maxPendingPerUser: 64 });
    h.add("A", "a1");
    const a2 = h.add("A", "a2");
    const b1 = h.add("B", "b1");
    const c1 = h.add("C", "c1");
    await h.startedCount(1);
    // a1 runs; B and C are in the ring ahead of A's next job.
    assert.deepEqual([b1.position(), c1.position(), a2.position()], [1, 2, 3]);
    assert.equal(h.queue.positionOfKey("A"), 3);
    await h.finish("a1");
    assert.deepEqual([b1.position(), c1.position(), a2.position()], [0, 1, 2]);
    c1.cancel();
    assert.equal(a2.position(), 1);
    assert.deepEqual(h.positions.get("c1"), [2, 1]);
    assert.deepEqual(h.positions.get("a2"), [1, 2, 3, 2, 1]);
    assert.equal(h.positions.get("a1"), undefined, "a job that starts at once is never announced as queued");
  });

  it("refuses at once over maxPending and maxPendingPerUser with queue_full and retryAfterSeconds", async () => {
    const h = harness({ concurrency: 1, maxPending: 3, maxPendingPerUser: 2 });
    h.add("A", "a1", "alice");
    h.add("A", "a2", "alice");
    assert.throws(() => h.add("B", "a3", "alice"), (e) => isGlmbotError(e, "queue_full") && (e.details.retryAfterSeconds as number) >= 1);
    h.add("B", "b1", "bob");
    assert.throws(() => h.add("C", "c1", "carol"), (e) => isGlmbotError(e, "queue_full") && /busy/.test(e.message));
    await h.startedCount(1);
    await h.finish("a1");
    h.add("C", "c1", "carol"); // room again
  });

  it("cancels a waiting job (dropped, never run) and aborts a running one", async () => {
    const h = harness({ concurrency: 1 });
    const a1 = h.add("A", "a1");
    const b1 = h.add("B", "b1");
    b1.cancel();
    assert.deepEqual(await b1.done, { status: "dropped", reason: new GlmbotError("cancelled", "The request was cancelled.") });
    await h.startedCount(1);
    const signal = h.running.get("a1")!.signal;
    a1.cancel();
    assert.ok(isGlmbotError(signal.reason, "cancelled"));
    assert.equal((await a1.done).status, "finished");
    assert.deepEqual(h.started, ["a1"]);
    assert.equal(h.queue.hasJobs("B"), false);
  });

  it("aborts a job at its deadline (measured from its start) with generation_timeout, then runs the next", async () => {
    const h = harness({ concurrency: 1, deadlineMs: 1000 });
    const a1 = h.add("A", "a1");
    h.add("B", "b1");
    await h.startedCount(1);
    const signal = h.running.get("a1")!.signal;
    h.clock.advance(999);
    assert.equal(signal.aborted, false);
    h.clock.advance(1);
    assert.ok(isGlmbotError(signal.reason, "generation_timeout"));
    assert.equal((await a1.done).status, "finished");
    await h.startedCount(2);
    assert.deepEqual(h.started, ["a1", "b1"]);
    // b1's deadline starts when b1 starts.
    const b1Signal = h.running.get("b1")!.signal;
    h.clock.advance(999);
    assert.equal(b1Signal.aborted, false);
  });

  it("frees the slot of a job that ignores its abort after abortGraceMs", async () => {
    const h = harness({ concurrency: 1, deadlineMs: 1000, abortGraceMs: 200 });
    const a1 = h.add("A", "a1", "a", "ignoreAbort");
    h.add("B", "b1");
    await h.startedCount(1);
    h.clock.advance(1000);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.started, ["a1"]);
    h.clock.advance(200);
    const end = await a1.done;
    assert.equal(end.status, "abandoned");
    assert.ok(end.status === "abandoned" && isGlmbotError(end.reason, "generation_timeout"));
    await h.startedCount(2);
    assert.equal(h.clock.pending, 1, "only b1's deadline timer is left");
  });

  it("close() drops waiting jobs with the reason and refuses new ones; abortRunning() aborts the rest", async () => {
    const h = harness({ concurrency: 1 });
    const a1 = h.add("A", "a1");
    const b1 = h.add("B", "b1");
    await h.startedCount(1);
    const reason = new GlmbotError("shutting_down", "bye");
    h.queue.close(reason);
    assert.deepEqual(await b1.done, { status: "dropped", reason });
    assert.throws(() => h.add("C", "c1"), (e) => e === reason);
    h.queue.abortRunning(reason);
    await a1.done;
    await h.queue.onIdle();
    assert.equal(h.queue.running + h.queue.waiting, 0);
  });

  it("property: random arrivals and completions keep order, concurrency and fairness (seeded)", async () => {
    for (const seed of [1, 2, 3]) {
      const rand = prng(seed);
      const concurrency = rand.int(1, 3);
      const h = harness({ concurrency, maxPending: 1000, maxPendingPerUser: 1000 });
      const keys = ["A", "B", "C", "D", "E"];
      const added: Record<string, string[]> = {};
      let n = 0;
      for (let step = 0; step < 200; step++) {
        if (rand.next() < 0.55 || h.running.size === 0) {
          const key = rand.pick(keys);
          const name = `${key}-${n++}`;
          (added[key] ??= []).push(name);
          h.add(key, name, "u");
          await new Promise((resolve) => setImmediate(resolve));
        } else {
          await h.finish(rand.pick([...h.running.keys()]));
        }
        // Fairness: a key with a waiting job is never behind more than (number of keys) other starts.
        for (const key of keys) {
          const position = h.queue.positionOfKey(key);
          assert.ok(position <= keys.length, `seed ${seed}: ${key} at #${position}`);
        }
      }
      while (h.running.size > 0) await h.finish([...h.running.keys()][0]);
      await h.queue.onIdle();
      for (const key of keys) assert.deepEqual(h.started.filter((name) => name.startsWith(`${key}-`)), added[key] ?? [], `seed ${seed}: order of ${key}`);
      assert.deepEqual(h.violations, []);
    }
  });
});
