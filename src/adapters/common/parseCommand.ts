import type { Command } from "../../core/ports.js";

/**
 * The text form of a command, after the bot's mention has been removed: `reset`, `system <text>`,
 * `system reset`, `status`, `help` — case-insensitive keyword, surrounding whitespace ignored, an optional
 * leading `/` or `!` accepted (`/reset`). The `system` text keeps its case and inner line breaks.
 * Anything else (`reset the router please`) is not a command and returns `undefined` (it goes to the model).
 * `system` without text also returns `{name: "system", text: ""}`: core answers it with the usage line.
 */
export function parseCommand(text: string): Command | undefined {
  const match = /^[/!]?([a-z]+)(?:\s+([\s\S]*))?$/iu.exec(text.trim());
  if (!match) return undefined;
  const keyword = match[1].toLowerCase();
  const rest = (match[2] ?? "").trim();
  switch (keyword) {
    case "reset":
    case "status":
    case "help":
      return rest === "" ? { name: keyword } : undefined;
    case "system":
      return rest.toLowerCase() === "reset" ? { name: "system_reset" } : { name: "system", text: rest };
    default:
      return undefined;
  }
}
