/**
 * Helpers shared by the chat adapters (Discord, Slack): message splitting, paced edits, the text form of
 * commands, user-facing notices, error mapping, per-key arrival order, and a memory of handled ids.
 * Platform-free: no SDK imports here.
 */
export { splitText, splitSegments, type SplitSegment } from "./splitText.js";
export { EditPacer, type EditPacerOptions } from "./EditPacer.js";
export { parseCommand } from "./parseCommand.js";
export { RecentIds } from "./RecentIds.js";
export { KeyedChain } from "./KeyedChain.js";
export { toGlmbotError } from "./errors.js";
export {
  EMPTY_REPLY_TEXT,
  NO_TEXT_HINT,
  THINKING_TEXT,
  errorText,
  finishMarker,
  queuePositionText,
  withFinishMarker,
} from "./notices.js";
