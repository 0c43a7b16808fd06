/**
 * Arrival order for inbound chat messages. Platforms deliver a conversation's messages in order, but an
 * adapter awaits lookups (dedupe store, user names, thread state) before it hands a message to core, and
 * those take different times; running each message's whole handling in a per-key chain keeps core's view
 * in arrival order. This is core's {@link KeyedChain} (one implementation for core and the adapters):
 * `run(key, fn)` starts `fn` after every earlier `fn` of that key has settled and resolves/rejects with
 * `fn`'s result; a failure does not break the chain; idle keys hold no memory.
 */
export { KeyedChain } from "../../core/keyedChain.js";
