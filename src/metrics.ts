/**
 * Prometheus metrics (prom-client). {@link createMetricsRegistry} builds a Registry holding glmbot's metrics;
 * {@link bindCoreMetrics} feeds them from core's metric events. Durations are exported in seconds
 * (Prometheus convention) although core reports milliseconds.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Metric names, for lookups and tests. */
export const METRIC_NAMES = {
  queueDepth: "glmbot_queue_depth",
  queueWait: "glmbot_queue_wait_seconds",
  firstToken: "glmbot_time_to_first_token_seconds",
  tokensPerSecond: "glmbot_tokens_per_second",
  promptTokens: "glmbot_prompt_tokens_total",
  completionTokens: "glmbot_completion_tokens_total",
  droppedTurns: "glmbot_dropped_turns_total",
  refusals: "glmbot_refusals_total",
  webhookRequests: "glmbot_webhook_requests_total",
  webhookCallbacks: "glmbot_webhook_callbacks_total",
} as const;

export interface MetricsOptions {
  /** Also collect Node process metrics (CPU, memory, event loop lag) with prefix `glmbot_`. Default false. */
  defaultMetrics?: boolean;
}

/** Creates a Registry with every glmbot metric registered (see {@link METRIC_NAMES}). */
export function createMetricsRegistry(options: MetricsOptions = {}): Registry {
  const registers = [new Registry()];
  const registry = registers[0];
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: "glmbot_" });
  new Gauge({ name: METRIC_NAMES.queueDepth, help: "Jobs waiting for a free sequence", registers });
  new Histogram({
    name: METRIC_NAMES.queueWait,
    help: "Time from submission to generation start, seconds",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers,
  });
  new Histogram({
    name: METRIC_NAMES.firstToken,
    help: "Time from generation start to the first text delta, seconds",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers,
  });
  new Histogram({
    name: METRIC_NAMES.tokensPerSecond,
    help: "Completion tokens per second of decoding, per reply",
    buckets: [1, 2, 5, 10, 20, 40, 60, 100, 200],
    registers,
  });
  new Counter({ name: METRIC_NAMES.promptTokens, help: "Prompt tokens sent to the model", registers });
  new Counter({ name: METRIC_NAMES.completionTokens, help: "Completion tokens generated", registers });
  new Counter({ name: METRIC_NAMES.droppedTurns, help: "Stored turns left out of prompts to fit the context", registers });
  new Counter({ name: METRIC_NAMES.refusals, help: "Messages refused, by error code", labelNames: ["code"], registers });
  new Counter({
    name: METRIC_NAMES.webhookRequests,
    help: "Webhook HTTP responses, by route and status",
    labelNames: ["route", "status"],
    registers,
  });
  new Counter({
    name: METRIC_NAMES.webhookCallbacks,
    help: "Webhook callback deliveries, by result (delivered|failed)",
    labelNames: ["result"],
    registers,
  });
  return registry;
}

/** Anything with `on(event, listener)` (a Node EventEmitter, or core's typed emitter). */
export interface MetricEventSource {
  on(event: string, listener: (payload: unknown) => void): unknown;
  off?(event: string, listener: (payload: unknown) => void): unknown;
}

/** A finite number from a payload that is a number or an object with one of `keys`; otherwise undefined. */
function pick(payload: unknown, ...keys: string[]): number | undefined {
  if (typeof payload === "number") return Number.isFinite(payload) ? payload : undefined;
  if (payload === null || typeof payload !== "object") return undefined;
  for (const key of keys) {
    const v = (payload as Record<string, unknown>)[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

/**
 * Subscribes the registry's metrics to core's events. Payloads are read tolerantly: a bare number or an
 * object with the field named below; anything else is ignored (a listener never throws).
 * - `queue_wait` ms (`ms`|`value`) → histogram (s); `first_token` ms (`ms`|`value`) → histogram (s);
 * - `tokens_per_second` (`value`|`tokensPerSecond`); `prompt_tokens`, `completion_tokens`, `dropped_turns`
 *   (`count`|`tokens`|`value`|`turns`) → counters; `queue_depth` (`depth`|`value`) → gauge;
 * - `refusal` `{code}` (or the code string) → counter labelled by code.
 * Returns a function that unsubscribes (when the emitter has `off`).
 * @throws Error when `registry` was not made by {@link createMetricsRegistry}.
 */
export function bindCoreMetrics(registry: Registry, emitter: MetricEventSource): () => void {
  const get = <T>(name: string): T => {
    const metric = registry.getSingleMetric(name);
    if (!metric) throw new Error(`metrics: ${name} is not registered (use createMetricsRegistry)`);
    return metric as T;
  };
  const hist = (name: string) => get<Histogram>(name);
  const count = (name: string) => get<Counter>(name);
  const seconds = (ms: number | undefined) => (ms === undefined || ms < 0 ? undefined : ms / 1000);
  const observe = (h: Histogram, v: number | undefined) => v !== undefined && v >= 0 && h.observe(v);
  const add = (c: Counter, v: number | undefined) => v !== undefined && v > 0 && c.inc(v);

  const handlers: Record<string, (p: unknown) => void> = {
    queue_wait: (p) => observe(hist(METRIC_NAMES.queueWait), seconds(pick(p, "ms", "value"))),
    first_token: (p) => observe(hist(METRIC_NAMES.firstToken), seconds(pick(p, "ms", "value"))),
    tokens_per_second: (p) => observe(hist(METRIC_NAMES.tokensPerSecond), pick(p, "value", "tokensPerSecond")),
    prompt_tokens: (p) => add(count(METRIC_NAMES.promptTokens), pick(p, "count", "tokens", "value")),
    completion_tokens: (p) => add(count(METRIC_NAMES.completionTokens), pick(p, "count", "tokens", "value")),
    dropped_turns: (p) => add(count(METRIC_NAMES.droppedTurns), pick(p, "count", "turns", "value")),
    queue_depth: (p) => {
      const depth = pick(p, "depth", "value");
      if (depth !== undefined) get<Gauge>(METRIC_NAMES.queueDepth).set(depth);
    },
    refusal: (p) => {
      const code = typeof p === "string" ? p : (p as { code?: unknown } | null)?.code;
      if (typeof code === "string" && code.length > 0) count(METRIC_NAMES.refusals).inc({ code });
    },
  };
  hist(METRIC_NAMES.queueWait); // fail fast on a foreign registry
  const bound: Array<[string, (p: unknown) => void]> = Object.entries(handlers).map(([event, handle]) => {
    const listener = (payload: unknown) => {
      try {
        handle(payload);
      } catch {
        // A metric must never break the emitter.
      }
    };
    emitter.on(event, listener);
    return [event, listener];
  });
  return () => {
    for (const [event, listener] of bound) emitter.off?.(event, listener);
  };
}
