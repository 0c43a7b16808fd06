/**
 * The Discord adapter: a discord.js v14 client whose events become core calls (`submit`, `command`) and
 * whose replies come from a DiscordReplySink per message (see `messages.ts`, `interactions.ts`).
 * No conversation logic lives here: this file is the client's lifecycle and event wiring.
 */
import { EventEmitter, once } from "node:events";
import { Client, Events, Partials, type GatewayDispatchPayload } from "discord.js";
import type { Clock } from "../../core/clock.js";
import { systemClock } from "../../core/clock.js";
import type { Logger } from "../../core/logger.js";
import type { ConversationService } from "../../core/ports.js";
import { SAFE_MENTIONS, rejectEditRateLimits } from "./channelTarget.js";
import type { DiscordOptions } from "./config.js";
import { handleInteraction, type DiscordAdapterEvents } from "./interactions.js";
import { MessageHandler } from "./messages.js";
import { intentSummary, loginError, registerCommands } from "./startup.js";

export interface DiscordAdapterOptions {
  options: DiscordOptions;
  service: ConversationService;
  logger: Logger;
  /** Clock for the adapter's own timers (edit pacing, typing renewal); default the real one. */
  clock?: Clock;
}

export interface DiscordAdapter {
  /** Logs in, waits for the gateway (≤ `startupTimeoutMs`), registers the slash command. Rejects with GlmbotError `config_invalid` (bad token, disallowed intent, unreachable API). */
  start(): Promise<void>;
  /** Stops typing timers and pending edits, disconnects. Idempotent. Call after core's shutdown so replies in flight are delivered. */
  stop(): Promise<void>;
  readonly events: EventEmitter<DiscordAdapterEvents>;
  /** The discord.js client once started (for diagnostics and tests). */
  readonly client: Client | undefined;
}

/** Creates the adapter; nothing connects before `start()`. */
export function createDiscordAdapter(deps: DiscordAdapterOptions): DiscordAdapter {
  return new DiscordGateway(deps);
}

class DiscordGateway implements DiscordAdapter {
  readonly events = new EventEmitter<DiscordAdapterEvents>();
  readonly #o: DiscordOptions;
  readonly #service: ConversationService;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #messages: MessageHandler;
  #client: Client | undefined;
  #stopped = false;

  constructor(deps: DiscordAdapterOptions) {
    this.#o = deps.options;
    this.#service = deps.service;
    this.#log = deps.logger;
    this.#clock = deps.clock ?? systemClock;
    this.#messages = new MessageHandler({ options: this.#o, service: this.#service, logger: this.#log, clock: this.#clock, events: this.events });
  }

  get client(): Client | undefined {
    return this.#client;
  }

  async start(): Promise<void> {
    const { intents, line } = intentSummary(this.#o.messageContentIntent);
    this.#log.info({ intents }, line);
    const client = new Client({
      intents,
      partials: [Partials.Channel], // without it DMs are silently dropped
      rest: { api: this.#o.apiBase, rejectOnRateLimit: rejectEditRateLimits },
      allowedMentions: SAFE_MENTIONS,
      failIfNotExists: false,
    });
    this.#client = client;
    client.on(Events.MessageCreate, (message) => void this.#messages.onMessage(message));
    client.on(Events.InteractionCreate, (interaction) =>
      void handleInteraction({ options: this.#o, service: this.#service, logger: this.#log, jobs: this.#messages.jobs, events: this.events }, interaction),
    );
    client.on(Events.Raw, (packet: GatewayDispatchPayload) => this.#messages.onRaw(packet));
    client.on(Events.Error, (err) => this.#log.error({ err }, "discord: client error"));
    client.on(Events.ShardDisconnect, (event) => this.#log.warn({ code: event.code }, "discord: gateway disconnected for good"));
    client.on(Events.ShardResume, (_id, replayed) => this.#log.info({ replayed }, "discord: gateway resumed"));

    const ready = once(client, Events.ClientReady);
    let timer: unknown;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#clock.setTimeout(() => reject(new Error(`no READY within ${this.#o.startupTimeoutMs} ms`)), this.#o.startupTimeoutMs);
    });
    try {
      await Promise.race([Promise.all([client.login(this.#o.token), ready]), timeout]);
    } catch (err) {
      await client.destroy().catch(() => undefined);
      this.#client = undefined;
      throw loginError(err, this.#o.startupTimeoutMs);
    } finally {
      this.#clock.clearTimeout(timer);
    }
    if (!client.isReady()) throw loginError(new Error("the client is not ready after READY"), this.#o.startupTimeoutMs);
    this.#log.info({ user: client.user.tag, guilds: client.guilds.cache.size }, "discord: connected");
    await registerCommands(client, this.#o.commands, this.#log);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#messages.close();
    await this.#client?.destroy();
  }
}
