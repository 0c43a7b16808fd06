/**
 * zod schemas for glmbot's configuration. Two top-level shapes share every section:
 * - {@link FileConfigSchema}: what `config/default.yaml` (+ a user file + env overrides) must look like.
 *   Webhook clients there carry only *references* to secrets (`tokenEnv`, `tokenFile`, `secretEnv`, `secretFile`).
 * - {@link ConfigSchema}: the resolved configuration the program uses; clients carry `token` / `secret` values.
 * Every object is `.strict()`; every message reads "expected …" so the loader can append ", got <value>".
 * Defaults live in `config/default.yaml` only (one source of truth), not here.
 */
import { z } from "zod";
import { DiscordSectionSchema } from "../adapters/discord/config.js";
import { SlackSectionSchema } from "../adapters/slack/config.js";

/** An integer in [min, max] with the uniform message `expected integer min–max` (or `message`). */
export function intIn(min: number, max: number, message?: string) {
  const msg = message ?? `expected integer ${min}–${max}`;
  return z.number({ invalid_type_error: msg, required_error: msg }).int(msg).min(min, msg).max(max, msg);
}

/** A finite number in [min, max] with the message `expected number min–max`. */
export function numIn(min: number, max: number) {
  const msg = `expected number ${min}–${max}`;
  return z.number({ invalid_type_error: msg, required_error: msg }).min(min, msg).max(max, msg);
}

function str(what = "expected string", min = 0) {
  return z.string({ invalid_type_error: what, required_error: what }).min(min, what);
}

function bool() {
  const msg = "expected boolean (true or false)";
  return z.boolean({ invalid_type_error: msg, required_error: msg });
}

function oneOf<T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { errorMap: () => ({ message: `expected one of ${values.join("|")}` }) });
}

const modelSchema = z
  .object({
    source: str("expected a preset name (e.g. chatglm3-6b), a local .gguf path, or an hf:<user>/<repo>/<file>.gguf URI", 1),
    modelsDir: str("expected a directory path", 1),
    downloadStallTimeoutMs: intIn(1000, 3_600_000),
    chatFormat: oneOf(["auto", "chatglm3", "glm4"] as const),
    gpu: z.union([oneOf(["auto", "cuda", "vulkan", "metal"] as const), z.literal(false)], {
      errorMap: () => ({ message: "expected one of auto|cuda|vulkan|metal|false" }),
    }),
    allowCpuFallback: bool(),
    gpuLayers: z.union([z.literal("auto"), intIn(0, 1000, 'expected "auto" or integer 0–1000')], {
      errorMap: () => ({ message: 'expected "auto" or integer 0–1000' }),
    }),
    contextSize: intIn(256, 1_048_576),
    sequences: intIn(1, 64),
    threads: intIn(0, 1024),
  })
  .strict();

const generationSchema = z
  .object({
    maxTokens: intIn(1, 32_768),
    temperature: numIn(0, 2),
    topP: numIn(0, 1),
    topK: intIn(0, 1000),
    repeatPenalty: numIn(0.5, 2),
    seed: z.union([intIn(0, 2 ** 32 - 1, "expected integer 0–4294967295 or null (random)"), z.null()], {
      errorMap: () => ({ message: "expected integer 0–4294967295 or null (random)" }),
    }),
  })
  .strict();

const conversationSchema = z
  .object({
    systemPrompt: str("expected string"),
    maxStoredTurns: intIn(2, 100_000),
    idleTtlMs: intIn(0, 365 * 24 * 3600 * 1000),
  })
  .strict();

const queueSchema = z
  .object({
    maxPending: intIn(1, 100_000),
    maxPendingPerUser: intIn(1, 100_000),
    deadlineMs: intIn(1000, 24 * 3600 * 1000),
  })
  .strict();

const memorySchema = z
  .object({
    url: z
      .string({ invalid_type_error: 'expected "" (SQLite under dataDir) or a redis:// / rediss:// URL' })
      .refine((u) => u === "" || /^rediss?:\/\/./.test(u), 'expected "" (SQLite under dataDir) or a redis:// / rediss:// URL'),
  })
  .strict();

const serverSchema = z
  .object({
    host: str("expected a host name or IP address", 1),
    port: intIn(0, 65535),
    bodyLimit: intIn(1024, 64 * 1024 * 1024),
  })
  .strict();

/** A client name: used in conversation keys (`webhook:<name>:<conversation_id>`). */
const clientName = z.string({ invalid_type_error: "expected string" }).regex(/^[A-Za-z0-9._-]{1,64}$/, "expected 1–64 chars of A–Z a–z 0–9 . _ -");
const envName = z.string({ invalid_type_error: "expected string" }).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected an environment variable name");
const fileRef = str("expected a file path", 1);
const noInline = (what: "token" | "secret") =>
  z.undefined({
    errorMap: () => ({ message: `secrets may not be written in the config file; use ${what}Env or ${what}File` }),
  });

/** A webhook client as written in YAML: secrets only by reference. */
const clientRefSchema = z
  .object({
    name: clientName,
    tokenEnv: envName.optional(),
    tokenFile: fileRef.optional(),
    secretEnv: envName.optional(),
    secretFile: fileRef.optional(),
    token: noInline("token").optional(),
    secret: noInline("secret").optional(),
  })
  .strict();

const secretValue = z.string().min(16, "expected at least 16 characters").max(4096, "expected at most 4096 characters");

/** A webhook client after secret resolution. At least one of `token` / `secret` is set. */
export const WebhookClientSchema = z
  .object({ name: clientName, token: secretValue.optional(), secret: secretValue.optional() })
  .strict()
  .refine((c) => c.token !== undefined || c.secret !== undefined, "expected a token or a secret (tokenEnv/tokenFile/secretEnv/secretFile)");

const prefixSchema = z
  .string({ invalid_type_error: "expected string" })
  .regex(/^https?:\/\/[^/\s]+\/\S*$/, 'expected an http(s) URL prefix that includes the path\'s leading "/" (e.g. "https://hooks.example.com/")');

function webhookSection<C extends z.ZodTypeAny>(client: C) {
  return z
    .object({
      enabled: bool(),
      clients: z
        .array(client, { invalid_type_error: "expected a list of clients" })
        .refine((cs) => new Set(cs.map((c: { name: string }) => c.name)).size === cs.length, "expected unique client names"),
      callbackAllowedPrefixes: z.array(prefixSchema, { invalid_type_error: "expected a list of URL prefixes" }),
      callbackAttempts: intIn(1, 10),
      callbackTimeoutMs: intIn(100, 600_000),
      idempotencyTtlMs: intIn(0, 7 * 24 * 3600 * 1000),
    })
    .strict();
}

const shutdownSchema = z.object({ graceMs: intIn(0, 3_600_000) }).strict();
const logSchema = z.object({ level: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const) }).strict();

const sections = {
  model: modelSchema,
  generation: generationSchema,
  conversation: conversationSchema,
  queue: queueSchema,
  memory: memorySchema,
  dataDir: str("expected a directory path", 1),
  server: serverSchema,
  shutdown: shutdownSchema,
  log: logSchema,
  discord: DiscordSectionSchema.default({}),
  slack: SlackSectionSchema.default({}),
};

/** The merged YAML (+ env) before secrets are resolved. */
export const FileConfigSchema = z.object({ ...sections, webhook: webhookSection(clientRefSchema) }).strict();
export type FileConfig = z.infer<typeof FileConfigSchema>;

/** The resolved configuration. */
export const ConfigSchema = z.object({ ...sections, webhook: webhookSection(WebhookClientSchema) }).strict();

/** glmbot's validated configuration (see `config/default.yaml` for every key's meaning, unit and default). */
export type Config = z.infer<typeof ConfigSchema>;
/** A webhook client with resolved credentials: `token` for Bearer auth, `secret` for HMAC signatures. */
export type WebhookClient = z.infer<typeof WebhookClientSchema>;
