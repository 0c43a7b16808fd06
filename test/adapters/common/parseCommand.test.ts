import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCommand } from "../../../src/adapters/common/parseCommand.js";

describe("parseCommand", () => {
  test("the five text forms", () => {
    assert.deepEqual(parseCommand("reset"), { name: "reset" });
    assert.deepEqual(parseCommand("status"), { name: "status" });
    assert.deepEqual(parseCommand("help"), { name: "help" });
    assert.deepEqual(parseCommand("system reset"), { name: "system_reset" });
    assert.deepEqual(parseCommand("system You are a pirate."), { name: "system", text: "You are a pirate." });
  });

  test("case, surrounding whitespace and a leading / or ! do not matter; the system text keeps its case and lines", () => {
    assert.deepEqual(parseCommand("  RESET \n"), { name: "reset" });
    assert.deepEqual(parseCommand("/help"), { name: "help" });
    assert.deepEqual(parseCommand("!status"), { name: "status" });
    assert.deepEqual(parseCommand("System  RESET"), { name: "system_reset" });
    assert.deepEqual(parseCommand("system Line one\nLine Two"), { name: "system", text: "Line one\nLine Two" });
    assert.deepEqual(parseCommand("system"), { name: "system", text: "" });
  });

  test("anything else is a message for the model", () => {
    for (const text of ["", "reset the router please", "what is the status?", "help me", "hello", "systems", "rest", "/ reset", "status!"]) {
      assert.equal(parseCommand(text), undefined, text);
    }
  });
});
