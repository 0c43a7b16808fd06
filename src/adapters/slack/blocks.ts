/**
 * Block Kit payloads of glmbot's Slack messages. Every message has a plain `text` (the same mrkdwn, used for
 * notifications and by clients without blocks) and one `section` block whose mrkdwn text is at most 3,000
 * characters (Slack's section limit; the whole message then stays far below the ~12,000 character blocks
 * limit and the ~4,000 character chat.update limit). A reply still being written also carries an `actions`
 * block with the Stop button.
 */

/** `action_id` of the Stop button; its `value` is the reply's stop id (see SlackAdapter). */
export const STOP_ACTION_ID = "glmbot_stop";

export interface MessagePayload {
  text: string;
  blocks: Record<string, unknown>[];
}

/** Shown while a message has no text yet (a section's text may not be empty). */
const EMPTY = "…";

/**
 * @param mrkdwn the message text (≤ 3,000 characters)
 * @param stopValue when set, a Stop button (`action_id` {@link STOP_ACTION_ID}, `value` = stopValue)
 */
export function messagePayload(mrkdwn: string, stopValue?: string): MessagePayload {
  const text = mrkdwn.trim() === "" ? EMPTY : mrkdwn;
  const blocks: Record<string, unknown>[] = [{ type: "section", text: { type: "mrkdwn", text, verbatim: true } }];
  if (stopValue !== undefined) blocks.push(stopBlock(stopValue));
  return { text, blocks };
}

/** The actions block with the Stop button. */
export function stopBlock(stopValue: string): Record<string, unknown> {
  return {
    type: "actions",
    block_id: "glmbot_controls",
    elements: [{ type: "button", action_id: STOP_ACTION_ID, text: { type: "plain_text", text: "Stop", emoji: true }, style: "danger", value: stopValue }],
  };
}
