/**
 * Environment overrides. Each entry maps one variable onto one config key; values are coerced from text
 * (integers, `false`) but left as text when they don't look right, so validation reports them verbatim
 * (`server.port (from GLMBOT_PORT): expected integer 0–65535, got "abc"`).
 * Webhook secrets (`GLMBOT_WEBHOOK_TOKEN` / `GLMBOT_WEBHOOK_SECRET`) are not here: see `secrets.ts`.
 * Discord/Slack variables are added to {@link ENV_OVERRIDES} when those adapters' sections exist.
 */

type Coerce = "string" | "int" | "gpu" | "intOrAuto";

/** Variable → [config path, coercion]. */
export const ENV_OVERRIDES: Readonly<Record<string, readonly [readonly string[], Coerce]>> = {
  GLMBOT_MODEL: [["model", "source"], "string"],
  GLMBOT_MODELS_DIR: [["model", "modelsDir"], "string"],
  GLMBOT_GPU: [["model", "gpu"], "gpu"],
  GLMBOT_GPU_LAYERS: [["model", "gpuLayers"], "intOrAuto"],
  GLMBOT_CONTEXT_SIZE: [["model", "contextSize"], "int"],
  GLMBOT_THREADS: [["model", "threads"], "int"],
  GLMBOT_HOST: [["server", "host"], "string"],
  GLMBOT_PORT: [["server", "port"], "int"],
  GLMBOT_DATA_DIR: [["dataDir"], "string"],
  GLMBOT_MEMORY_URL: [["memory", "url"], "string"],
  GLMBOT_LOG_LEVEL: [["log", "level"], "string"],
};

function coerce(raw: string, how: Coerce): unknown {
  const text = raw.trim();
  if ((how === "int" || how === "intOrAuto") && /^-?\d+$/.test(text)) return Number(text);
  if (how === "intOrAuto" && text === "auto") return "auto";
  if (how === "gpu" && text === "false") return false;
  return how === "string" ? raw : text;
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/**
 * Applies the set (non-empty) variables of {@link ENV_OVERRIDES} onto `raw` in place.
 * Returns a map from config path (`server.port`) to the variable that set it, for error messages.
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const sources = new Map<string, string>();
  for (const [name, [path, how]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    setIn(raw, path, coerce(value, how));
    sources.set(path.join("."), name);
  }
  return sources;
}
