/**
 * Resolves webhook client secrets. The config file names where a secret lives (`tokenEnv`, `tokenFile`,
 * `secretEnv`, `secretFile`); values come only from the environment or from files (e.g. Docker/K8s secrets,
 * read as UTF-8 with surrounding whitespace trimmed; relative paths are relative to the working directory).
 * `GLMBOT_WEBHOOK_TOKEN` / `GLMBOT_WEBHOOK_SECRET` create the client `default`, or override its values.
 * Error messages name keys, variables and files, never values.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { FileConfig } from "./schema.js";
import { configProblem } from "./errors.js";

/** A client whose secrets have been looked up but not yet validated. */
export interface UnvalidatedClient {
  name: string;
  token?: string;
  secret?: string;
}

type Ref = FileConfig["webhook"]["clients"][number];

function lookup(
  ref: Ref,
  kind: "token" | "secret",
  index: number,
  env: NodeJS.ProcessEnv,
  sources: Map<string, string>,
): string | undefined {
  const envName = kind === "token" ? ref.tokenEnv : ref.secretEnv;
  const file = kind === "token" ? ref.tokenFile : ref.secretFile;
  const at = `webhook.clients[${index}]`;
  if (envName !== undefined && file !== undefined) {
    throw configProblem(`${at}.${kind}Env`, `expected either ${kind}Env or ${kind}File, not both`);
  }
  if (envName !== undefined) {
    const value = env[envName];
    if (value === undefined || value === "") throw configProblem(`${at}.${kind}Env`, `environment variable ${envName} is not set`);
    sources.set(`${at}.${kind}`, `env ${envName}`);
    return value;
  }
  if (file !== undefined) {
    try {
      const value = readFileSync(resolve(file), "utf8").trim();
      sources.set(`${at}.${kind}`, `file ${file}`);
      return value;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "read error";
      throw configProblem(`${at}.${kind}File`, `cannot read ${file} (${code})`);
    }
  }
  return undefined;
}

/**
 * Looks up every client's secrets and applies `GLMBOT_WEBHOOK_TOKEN` / `GLMBOT_WEBHOOK_SECRET`.
 * `sources` receives `webhook.clients[i].token` → where the value came from (for error messages).
 * @throws GlmbotError `config_invalid` for a missing variable, an unreadable file, or both kinds of reference.
 */
export function resolveClients(refs: readonly Ref[], env: NodeJS.ProcessEnv, sources: Map<string, string>): UnvalidatedClient[] {
  const clients: UnvalidatedClient[] = refs.map((ref, i) => {
    const client: UnvalidatedClient = { name: ref.name };
    const token = lookup(ref, "token", i, env, sources);
    const secret = lookup(ref, "secret", i, env, sources);
    if (token !== undefined) client.token = token;
    if (secret !== undefined) client.secret = secret;
    return client;
  });
  const envToken = env.GLMBOT_WEBHOOK_TOKEN || undefined;
  const envSecret = env.GLMBOT_WEBHOOK_SECRET || undefined;
  if (envToken === undefined && envSecret === undefined) return clients;
  let index = clients.findIndex((c) => c.name === "default");
  if (index < 0) index = clients.push({ name: "default" }) - 1;
  const target = clients[index];
  if (envToken !== undefined) {
    target.token = envToken;
    sources.set(`webhook.clients[${index}].token`, "GLMBOT_WEBHOOK_TOKEN");
  }
  if (envSecret !== undefined) {
    target.secret = envSecret;
    sources.set(`webhook.clients[${index}].secret`, "GLMBOT_WEBHOOK_SECRET");
  }
  return clients;
}
