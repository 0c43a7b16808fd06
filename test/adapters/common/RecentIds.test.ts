import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RecentIds } from "../../../src/adapters/common/RecentIds.js";

describe("RecentIds", () => {
  test("an id is new once, then remembered", () => {
    const ids = new RecentIds();
    assert.equal(ids.firstTime("m1"), true);
    assert.equal(ids.firstTime("m1"), false);
    assert.equal(ids.firstTime("m2"), true);
  });

  test("forgets ids after the TTL", () => {
    let now = 0;
    const ids = new RecentIds({ ttlMs: 1000, now: () => now });
    ids.firstTime("m1");
    now = 999;
    assert.equal(ids.firstTime("m1"), false);
    now = 2000;
    assert.equal(ids.firstTime("m1"), true);
  });

  test("keeps at most `max` ids, evicting the oldest", () => {
    const ids = new RecentIds({ max: 3 });
    for (const id of ["a", "b", "c", "d"]) ids.firstTime(id);
    assert.equal(ids.size, 3);
    assert.equal(ids.firstTime("a"), true, "a was evicted");
    assert.equal(ids.firstTime("d"), false);
  });
});
