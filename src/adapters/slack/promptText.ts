/**
 * Slack message text (mrkdwn with control sequences) → the plain text the model sees.
 *
 * - The bot's own mention `<@UBOT>` / `<@UBOT|name>` is removed wherever it appears.
 * - Other users' mentions become `@Display Name` (names from users.info, see users.ts; the id when unknown).
 * - `<#C1|general>` → `#general`, `<!here>` → `@here`, `<!subteam^S1|@team>` → `@team`,
 *   `<https://x|label>` → `label (https://x)`, `<https://x>` → `https://x`, `<mailto:a@b|a@b>` → `a@b`.
 * - `&lt;` `&gt;` `&amp;` are unescaped (Slack escapes only these three).
 * - Whitespace around a removed mention is collapsed; the result is trimmed.
 */

const SEQUENCE = /<([^<>]*)>/g;
const USER = /^@([UW][A-Z0-9]+)(?:\|([^>]*))?$/;

/** The user ids mentioned in `text` (each once, in order), for name resolution. */
export function mentionedUserIds(text: string): string[] {
  const ids = new Set<string>();
  for (const match of text.matchAll(SEQUENCE)) {
    const user = USER.exec(match[1]);
    if (user) ids.add(user[1]);
  }
  return [...ids];
}

/**
 * @param text the event's `text`
 * @param botUserId the bot's user id (from auth.test)
 * @param names display names by user id
 */
export function promptText(text: string, botUserId: string, names: ReadonlyMap<string, string>): string {
  const replaced = text.replace(SEQUENCE, (_whole, inner: string) => {
    const user = USER.exec(inner);
    if (user) {
      if (user[1] === botUserId) return "\u0000";
      return `@${names.get(user[1]) ?? (user[2] || user[1])}`;
    }
    const [target, label] = splitLabel(inner);
    if (target.startsWith("#")) return `#${label ?? target.slice(1)}`;
    if (target.startsWith("!")) {
      const special = target.slice(1);
      if (special.startsWith("subteam^")) return label ?? "@team";
      if (special.startsWith("date^")) return label ?? "";
      return `@${special}`;
    }
    if (target.startsWith("mailto:")) return label ?? target.slice("mailto:".length);
    return label && label !== target ? `${label} (${target})` : target;
  });
  return unescape(replaced)
    .replace(/^\s*\u0000[ \t]*[,:]?[ \t]*/, "")
    .replace(/(^|\n)[ \t]*\u0000[ \t]*/g, "$1")
    .replace(/[ \t]*\u0000[ \t]*(?=\n|$|[?.!,:;)])/g, "")
    .replace(/[ \t]*\u0000[ \t]*/g, " ")
    .trim();
}

function splitLabel(inner: string): [string, string | undefined] {
  const bar = inner.indexOf("|");
  return bar < 0 ? [inner, undefined] : [inner.slice(0, bar), inner.slice(bar + 1)];
}

function unescape(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}
