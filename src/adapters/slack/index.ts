/**
 * The Slack adapter (see SlackAdapter.ts). The composition root needs {@link createSlackAdapter},
 * {@link resolveSlackOptions} and, to add the `slack:` section to the config schema, {@link SlackSectionSchema}.
 */
export { createSlackAdapter, type SlackAdapter, type SlackAdapterOptions } from "./SlackAdapter.js";
export { resolveSlackOptions, SlackSectionSchema, SLACK_ENV, type SlackOptions, type SlackSection } from "./config.js";
export { createSlackStore, type SlackStore, type SlackStoreOptions } from "./dedupe.js";
export { toMrkdwn, layoutMrkdwn, escapeMrkdwn } from "./markdown.js";
export { decide, type Trigger, type TriggerPolicy } from "./triggers.js";
export { promptText, mentionedUserIds } from "./promptText.js";
