/**
 * Splitting a long reply into chat messages that each fit a platform's length limit.
 *
 * Units: lengths are JavaScript string lengths, i.e. UTF-16 code units. Discord's API counts Unicode code
 * points (it validates with Python's `len`, as Discord staff explained in discord/discord-api-docs#1315),
 * so a part of ≤ limit UTF-16 units is always accepted there (code points ≤ code units); replies with
 * many astral characters (emoji, CJK Extension B) merely use a few more parts than strictly needed.
 *
 * Rules, in order:
 * 1. A text of at most `limit` units is one part (exactly `limit` → 1 part, `limit + 1` → 2 parts).
 * 2. A part ends right after a separator, preferring a paragraph break (`\n\n`), then a line break, then
 *    a sentence end (`。！？；`) or a space/tab — the first kind that occurs in the second half of the
 *    available room; failing that, the latest separator of any kind; failing that, a hard cut at a
 *    grapheme boundary, never inside a surrogate pair.
 * 3. Fenced code blocks (``` or ~~~, CommonMark rules on complete lines): when a cut falls inside one, the
 *    part gets a closing fence (`\n```` or ```` ``` ```` after a line break) and the next part starts by
 *    reopening it with the same marker and info string (language), e.g. ```` ```ts\n ````. These fence
 *    markers are the ONLY text ever added; {@link splitSegments} reports them, so the bodies joined give
 *    back the text exactly. Markers are used only while they take at most half of `limit`.
 *
 * Prefix stability (what streaming relies on): every part except the last is decided by the text up to
 * that part's end plus at most `limit` following units, so once a text grows past a part, that part never
 * changes again as more text arrives.
 */

/** One part of a split: `text = reopen + body + close`; the bodies of all parts concatenate to the input. */
export interface SplitSegment {
  /** The message text (at most `limit` units). */
  text: string;
  /** Fence reopening added at the start ("" or e.g. "```ts\n"). */
  reopen: string;
  /** The slice of the original text. */
  body: string;
  /** Fence closing added at the end ("", "```" or "\n```"). */
  close: string;
}

interface Fence {
  /** The opening marker, e.g. "```" or "~~~~". */
  marker: string;
  /** The info string after it (language), e.g. "ts". */
  info: string;
}

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const SENTENCE_END = /[。！？；]/;
const GRAPHEMES = new Intl.Segmenter("en", { granularity: "grapheme" });

/**
 * Splits `text` into messages of at most `limit` UTF-16 code units (see the module doc for the rules).
 * An empty text gives `[""]`.
 * @throws RangeError when `limit` is not an integer ≥ 2 (a surrogate pair must always fit).
 */
export function splitText(text: string, limit: number): string[] {
  return splitSegments(text, limit).map((segment) => segment.text);
}

/** {@link splitText} with each part's added fence markers reported separately. */
export function splitSegments(text: string, limit: number): SplitSegment[] {
  if (!Number.isInteger(limit) || limit < 2) throw new RangeError(`limit must be an integer ≥ 2, got ${limit}`);
  const segments: SplitSegment[] = [];
  let pos = 0;
  let state: Fence | undefined; // the fence open at `pos`
  for (;;) {
    const carried = state && markersFit(state, limit) ? state : undefined;
    const reopen = carried ? `${carried.marker}${carried.info}\n` : "";
    if (reopen.length + text.length - pos <= limit) {
      segments.push({ text: reopen + text.slice(pos), reopen, body: text.slice(pos), close: "" });
      return segments;
    }
    // Fence state changes only at complete lines, so the state at `pos` is the state at its line's start.
    const lineStart = pos === 0 ? 0 : text.lastIndexOf("\n", pos - 1) + 1;
    let room = limit - reopen.length;
    for (;;) {
      const cut = chooseCut(text, pos, room);
      const next = fenceAt(text, lineStart, cut, state);
      const closing = next && markersFit(next, limit) ? next : undefined;
      const close = closing ? (text[cut - 1] === "\n" ? closing.marker : `\n${closing.marker}`) : "";
      if (reopen.length + (cut - pos) + close.length <= limit) {
        const body = text.slice(pos, cut);
        segments.push({ text: reopen + body + close, reopen, body, close });
        pos = cut;
        state = next;
        break;
      }
      room = Math.min(room - 1, limit - reopen.length - close.length);
    }
  }
}

/** Whether a fence's reopen + close markers take at most half of `limit`. */
function markersFit(fence: Fence, limit: number): boolean {
  return 2 * (2 * fence.marker.length + fence.info.length + 2) <= limit;
}

/** Where the part starting at `pos` ends: pos < cut ≤ pos + room (room < text.length − pos). */
function chooseCut(text: string, pos: number, room: number): number {
  const end = pos + room; // the last unit that may go into the part is text[end - 1]
  const minFill = pos + Math.floor(room / 2);
  const paragraph = text.lastIndexOf("\n\n", end - 2);
  const line = text.lastIndexOf("\n", end - 1);
  let word = -1;
  for (let i = end - 1; i >= pos; i--) {
    const ch = text[i];
    if (ch === " " || ch === "\t" || SENTENCE_END.test(ch)) {
      word = i;
      break;
    }
  }
  const candidates = [paragraph >= pos ? paragraph + 2 : -1, line >= pos ? line + 1 : -1, word >= pos ? word + 1 : -1];
  for (const cut of candidates) if (cut > pos && cut >= minFill) return cut;
  const latest = Math.max(...candidates);
  if (latest > pos) return latest;
  return hardCut(text, pos, end);
}

/** The last grapheme boundary in (pos, end]; a surrogate-safe cut when one grapheme is longer than the room. */
function hardCut(text: string, pos: number, end: number): number {
  let best = -1;
  for (const { index } of GRAPHEMES.segment(text.slice(pos, end + 1))) {
    if (index > end - pos) break;
    if (index > 0) best = pos + index;
  }
  if (best > pos) return best;
  const high = text.charCodeAt(end - 1);
  const low = text.charCodeAt(end);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff && end - 1 > pos ? end - 1 : end;
}

/** The fence open at `cut`, given the one open at the line start `from`; only lines ending ("\n") before `cut` count. */
function fenceAt(text: string, from: number, cut: number, open: Fence | undefined): Fence | undefined {
  let fence = open;
  let start = from;
  for (;;) {
    const newline = text.indexOf("\n", start);
    if (newline < 0 || newline >= cut) return fence;
    const match = FENCE_LINE.exec(text.slice(start, newline).replace(/\r$/, ""));
    if (match) {
      const [, marker, rest] = match;
      if (fence === undefined) {
        if (!(marker[0] === "`" && rest.includes("`"))) fence = { marker, info: rest.trim() };
      } else if (marker[0] === fence.marker[0] && marker.length >= fence.marker.length && rest.trim() === "") {
        fence = undefined;
      }
    }
    start = newline + 1;
  }
}
