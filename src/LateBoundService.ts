import { GlmbotError } from "./core/errors.js";
import type { Command, ConversationRef, ConversationService, InboundMessage, JobHandle, ReplySink, StoredTurn } from "./core/ports.js";

/**
 * A {@link ConversationService} that adapters can be given before the model has loaded: until
 * {@link bind} is called every method rejects with `model_not_ready` (HTTP 503), then it delegates.
 * Lets the HTTP server answer `/healthz` and `/readyz` while a model downloads or loads.
 */
export class LateBoundService implements ConversationService {
  #target: ConversationService | undefined;

  /** Start delegating to `target` (the ConversationManager). */
  bind(target: ConversationService): void {
    this.#target = target;
  }

  #get(): ConversationService {
    if (!this.#target) throw new GlmbotError("model_not_ready", "The model is still loading. Try again shortly.");
    return this.#target;
  }

  async submit(message: InboundMessage, sink: ReplySink): Promise<JobHandle> {
    return this.#get().submit(message, sink);
  }

  async command(conversation: ConversationRef, command: Command, author?: { id: string; displayName: string }): Promise<string> {
    return this.#get().command(conversation, command, author);
  }

  async history(conversationKey: string): Promise<StoredTurn[]> {
    return this.#get().history(conversationKey);
  }

  async reset(conversationKey: string): Promise<void> {
    return this.#get().reset(conversationKey);
  }
}
