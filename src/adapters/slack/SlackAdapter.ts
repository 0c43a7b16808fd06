/**
 * The Slack adapter: a thin layer over @slack/bolt 5 (Node 20) between Slack and core's
 * {@link ConversationService}. Transports:
 * - Socket Mode (`mode: socket`, the default when SLACK_APP_TOKEN is set): an outbound WebSocket only;
 *   `apps.connections.open` goes to `apiUrl` (Bolt's `clientOptions.slackApiUrl`).
 * - Events API over HTTP (`mode: http`): Bolt's own HTTPReceiver on `slack.http.host:port` (its own port,
 *   default 3000, separate from glmbot's webhook server), path `slack.http.path` (default `/slack/events`)
 *   for events, the slash command and interactivity alike; request signing verified by Bolt
 *   (SLACK_SIGNING_SECRET, 5-minute window → 401 otherwise); `url_verification` answered.
 * Events are acknowledged by Bolt before any listener runs, so nothing waits on the queue or the model.
 *
 * Lifecycle: `start()` opens the store (unless given), checks the token with `auth.test` (the bot's user id
 * and bot id come from it), starts the receiver. `stop()` stops receiving, waits up to `stopGraceMs` for
 * replies in flight (run it alongside core's `shutdown()`, which ends them), then abandons what is left,
 * closes the Web API client's waits, the Socket Mode connection and the store it opened. Idempotent.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { App, HTTPReceiver, SocketModeReceiver, type Receiver } from "@slack/bolt";
import { systemClock, type Clock } from "../../core/clock.js";
import { GlmbotError } from "../../core/errors.js";
import { silentLogger, type Logger } from "../../core/logger.js";
import type { ConversationService } from "../../core/ports.js";
import { STOP_ACTION_ID } from "./blocks.js";
import type { SlackOptions } from "./config.js";
import { createSlackStore, type SlackStore } from "./dedupe.js";
import { Inbound, type Respond } from "./inbound.js";
import { boltQuietLogger, slackErrorCode, SlackApi } from "./SlackApi.js";
import { StatusIndicator } from "./status.js";
import type { SlackMessageEvent } from "./triggers.js";
import { UserDirectory } from "./users.js";

export interface SlackAdapterOptions {
  options: SlackOptions;
  service: ConversationService;
  logger?: Logger;
  clock?: Clock;
  /** The dedupe/thread store; default: opened from `storage` (and closed by stop()). */
  dedupeStore?: SlackStore;
  /** Core's memory URL ("" = SQLite under dataDir) and data dir, for the default store. */
  storage?: { url?: string; dataDir: string };
  /** How long stop() waits for replies in flight, ms. Default 15 000. */
  stopGraceMs?: number;
}

export interface SlackAdapter {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** HTTP mode, once started: the events URL, e.g. `http://127.0.0.1:3000/slack/events`. */
  readonly eventsUrl: string | undefined;
}

export function createSlackAdapter(o: SlackAdapterOptions): SlackAdapter {
  const log = o.logger ?? silentLogger;
  const clock = o.clock ?? systemClock;
  const opts = o.options;
  let api: SlackApi | undefined;
  let store: SlackStore | undefined;
  let app: App | undefined;
  let socket: SocketModeReceiver | undefined;
  let inbound: Inbound | undefined;
  let eventsUrl: string | undefined;
  let stopping: Promise<void> | undefined;

  async function start(): Promise<void> {
    try {
      await open();
    } catch (error) {
      await stop();
      throw error;
    }
  }

  async function open(): Promise<void> {
    if (!opts.enabled) throw new GlmbotError("config_invalid", "The Slack adapter is not enabled (set SLACK_BOT_TOKEN).");
    store = o.dedupeStore ?? (await createSlackStore({ url: o.storage?.url, dataDir: o.storage?.dataDir ?? "data", dedupeTtlMs: opts.dedupeTtlMs, threadTtlMs: opts.threadTtlMs, now: () => clock.now(), onError: (err) => log.error({ err }, "Slack store error") }));
    api = new SlackApi({ token: opts.botToken, apiUrl: opts.apiUrl, clock, logger: log });
    const auth = await api.call(() => api!.web.auth.test()).catch((err: unknown) => {
      throw new GlmbotError("config_invalid", `Slack refused the bot token (auth.test: ${slackErrorCode(err) ?? "no answer"}).`, {}, { cause: err });
    });
    const botUserId = String(auth.user_id);
    const botId = auth.bot_id ? String(auth.bot_id) : undefined;
    api.self = { userId: botUserId, botId };
    const status = new StatusIndicator(api, log, opts.assistantStatus);
    inbound = new Inbound({
      options: opts,
      service: o.service,
      api,
      store,
      users: new UserDirectory(api, clock, log, opts.userCacheTtlMs),
      status,
      policy: { botUserId, botId, allowedChannels: opts.allowedChannels, allowedUsers: opts.allowedUsers, dmPolicy: opts.dmPolicy, threadFollowUps: opts.threadFollowUps },
      clock,
      log,
    });

    const sdkLogger = boltQuietLogger(log) as never;
    const clientOptions = { slackApiUrl: opts.apiUrl };
    let receiver: Receiver;
    if (opts.mode === "socket") {
      socket = new SocketModeReceiver({ appToken: opts.appToken, logger: sdkLogger, installerOptions: { clientOptions } });
      receiver = socket;
    } else {
      receiver = new HTTPReceiver({ signingSecret: opts.signingSecret, endpoints: opts.http.path, logger: sdkLogger, processBeforeResponse: false });
    }
    app = new App({ token: opts.botToken, botId, botUserId, receiver, logger: sdkLogger, clientOptions, tokenVerificationEnabled: false, convoStore: false, socketMode: opts.mode === "socket" });
    register(app, inbound, opts.slashCommand, log);
    if (opts.mode === "socket") await app.start();
    else {
      const server = (await app.start({ port: opts.http.port, host: opts.http.host })) as unknown as Server;
      const address = server.address() as AddressInfo;
      const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
      eventsUrl = `http://${host}:${address.port}${opts.http.path}`;
    }
    log.info({ mode: opts.mode, botUserId, eventsUrl }, "Slack adapter started");
  }

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      // Socket Mode: Bolt's stop() does not wait for the WebSocket to close; the client's disconnect() does.
      if (socket) await socket.client.disconnect().catch((err: unknown) => log.warn({ err }, "Socket Mode disconnect failed"));
      else await app?.stop().catch((err: unknown) => log.warn({ err }, "Slack receiver stop failed"));
      const pending = inbound?.active ?? [];
      if (pending.length > 0) {
        let timer: unknown;
        const grace = new Promise<void>((resolve) => (timer = clock.setTimeout(resolve, o.stopGraceMs ?? 15_000)));
        await Promise.race([Promise.all(pending.map((a) => a.done)), grace]);
        clock.clearTimeout(timer);
        for (const active of inbound?.active ?? []) active.sink.abandon();
      }
      api?.close();
      if (!o.dedupeStore) await store?.close().catch(() => undefined);
    })();
    return stopping;
  }

  return {
    start,
    stop,
    get eventsUrl() {
      return eventsUrl;
    },
  };
}

/** Bolt listeners → {@link Inbound}. Events are already acknowledged when these run. */
function register(app: App, inbound: Inbound, slashCommand: string, log: Logger): void {
  const onMessage = async ({ event, body }: { event: unknown; body: unknown }) => {
    await inbound.onMessage(event as SlackMessageEvent, body as { team_id?: string; event_id?: string });
  };
  app.event("app_mention", onMessage);
  app.event("message", onMessage);
  app.command(slashCommand, async ({ command, ack, respond }) => {
    await ack();
    await inbound.onSlashCommand(command, respond as Respond);
  });
  app.action(STOP_ACTION_ID, async ({ ack, action, body, respond }) => {
    await ack();
    const value = (action as { value?: string }).value;
    if (value) await inbound.onStop(value, body.user.id, respond as Respond);
  });
  app.error(async (error) => {
    log.error({ err: error }, "Slack listener failed");
  });
}
