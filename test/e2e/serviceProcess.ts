/**
 * Runs the real `glmbot serve` (bin/glmbot.js) as a child process for end-to-end tests, on port 0, and
 * reads the bound URL from its "ready" log line. Stops it only by the PID it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/glmbot.js", import.meta.url));
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ServiceProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Send SIGTERM and resolve with the exit code. */
  stop(): Promise<number | null>;
}

/** Wait for the process to exit; resolves with its exit code and output. */
export function waitExit(child: ChildProcess, timeoutMs = 60_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("glmbot did not exit in time"));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Spawn `glmbot serve` with `env` (merged over a minimal environment) and extra CLI args. */
export function spawnGlmbot(env: Record<string, string>, args: string[] = []): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [BIN, "serve", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", GLMBOT_THREADS: "1", GLMBOT_GPU: "false", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  return { child, output: () => out };
}

/** Start the service and wait until it logs "ready" (rejects with its output if it exits first). */
export async function startService(env: Record<string, string>, args: string[] = []): Promise<ServiceProcess> {
  const { child, output } = spawnGlmbot({ GLMBOT_PORT: "0", ...env }, args);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`glmbot did not become ready:\n${output()}`));
    }, 60_000);
    const check = () => {
      for (const line of output().split("\n")) {
        if (!line.includes('"msg":"ready"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line).url as string);
        return;
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`glmbot exited with ${code} before ready:\n${output()}`));
    });
  });
  return {
    child,
    url,
    output,
    stop: () => {
      child.kill("SIGTERM");
      return waitExit(child);
    },
  };
}
