/**
 * docker-compose.yml and Dockerfile, without a Docker engine: the compose file is parsed as YAML and its keys
 * asserted; the Dockerfile is parsed into instructions and linted (base image, non-root user, production
 * install, CUDA runtime only, apt hygiene, copied paths exist and are not ignored, the command); the
 * healthcheck command is run against a local /readyz.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, test } from "node:test";
import { Script } from "node:vm";
import { parse } from "yaml";
import { ROOT } from "../e2e/serviceProcess.js";

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

/** Dockerfile instructions: continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ op: string; args: string }> {
  const joined = text.replace(/\\\r?\n(\s*#.*\r?\n)*/g, " ");
  return joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const [, op, args] = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: op!.toUpperCase(), args: args! };
    });
}

/** Seconds of a compose duration such as `10m`, `1m30s`, `45s`. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(h|m|s)/g)) total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"];
  return total;
}

describe("docker-compose.yml", () => {
  const compose = parse(read("docker-compose.yml"));
  const glmbot = compose.services.glmbot;

  test("the glmbot service: GPU reservation, volumes, env_file, healthcheck, restart policy", () => {
    assert.equal(glmbot.build, ".");
    assert.equal(glmbot.restart, "unless-stopped");
    const devices = glmbot.deploy.resources.reservations.devices;
    assert.ok(devices.some((d: { driver?: string; capabilities?: string[] }) => d.driver === "nvidia" && d.capabilities?.includes("gpu")), JSON.stringify(devices));
    const targets = glmbot.volumes.map((v: string) => v.split(":")[1]);
    assert.deepEqual(targets, ["/app/models", "/app/data"]);
    assert.equal(glmbot.environment.GLMBOT_MODELS_DIR, "/app/models");
    assert.equal(glmbot.environment.GLMBOT_DATA_DIR, "/app/data");
    assert.ok(glmbot.env_file.some((e: string | { path: string }) => (typeof e === "string" ? e : e.path) === ".env"));
    assert.deepEqual(glmbot.command, ["serve"]);
  });

  test("the healthcheck waits for /readyz with a start period long enough for loading the model", () => {
    const hc = glmbot.healthcheck;
    assert.equal(hc.test[0], "CMD");
    assert.ok(hc.test.join(" ").includes("/readyz"));
    assert.ok(seconds(hc.start_period) >= 300, hc.start_period);
    assert.ok(seconds(hc.interval) > 0 && seconds(hc.timeout) > 0 && hc.retries >= 1);
    assert.doesNotThrow(() => new Script(hc.test.at(-1)), "the node -e script parses");
  });

  test("published on the host's loopback only; binding 0.0.0.0 in the container needs the token from .env", () => {
    assert.ok(glmbot.ports.every((p: string) => p.startsWith("127.0.0.1:")), JSON.stringify(glmbot.ports));
    assert.equal(glmbot.environment.GLMBOT_HOST, "0.0.0.0");
    assert.ok(!Object.keys(glmbot.environment).some((k) => /TOKEN|SECRET/.test(k)), "no secrets in the compose file");
  });

  test("redis is an opt-in profile for several replicas", () => {
    const redis = compose.services.redis;
    assert.deepEqual(redis.profiles, ["redis"]);
    assert.match(redis.image, /^redis:\d/);
    assert.ok(redis.healthcheck.test.includes("ping"));
    assert.ok(compose.volumes && "redis-data" in compose.volumes);
  });
});

describe("Dockerfile", () => {
  const steps = instructions(read("Dockerfile"));
  const args = new Map(steps.filter((s) => s.op === "ARG").map((s) => s.args.split("=") as [string, string]));
  const stages: Array<typeof steps> = [];
  for (const s of steps) {
    if (s.op === "FROM") stages.push([s]);
    else stages.at(-1)?.push(s); // ARGs before the first FROM are global
  }
  const final = stages.at(-1)!;
  const runs = steps.filter((s) => s.op === "RUN").map((s) => s.args);

  test("only known instructions", () => {
    const known = new Set(["FROM", "ARG", "RUN", "WORKDIR", "COPY", "ENV", "USER", "EXPOSE", "VOLUME", "HEALTHCHECK", "ENTRYPOINT", "CMD", "LABEL", "SHELL"]);
    for (const s of steps) assert.ok(known.has(s.op), s.op);
  });

  test("Node 20 slim base in every stage", () => {
    for (const [from] of stages) {
      const image = from!.args.split(/\s+/)[0]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? "");
      assert.match(image, /^node:20(\.\d+)*-[a-z]+-slim$/, image);
    }
  });

  test("production dependencies only, with the prebuilt llama.cpp binaries from npm", () => {
    assert.ok(runs.some((r) => /npm ci\b.*--omit=dev/.test(r)));
    assert.ok(runs.some((r) => /NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci/.test(r)), "never downloads or compiles llama.cpp at build time");
    assert.ok(!read("Dockerfile").includes("npm install"));
  });

  test("the CUDA runtime libraries, not the CUDA toolkit", () => {
    const cuda = runs.find((r) => r.includes("cuda-cudart"))!;
    assert.ok(cuda && /libcublas-/.test(cuda), "cudart and cublas, which the prebuilt CUDA binary links against");
    assert.doesNotMatch(read("Dockerfile"), /cuda-toolkit|nvcc|-devel|cuda-compiler/);
    assert.ok(final.some((s) => s.op === "ENV" && /NVIDIA_DRIVER_CAPABILITIES=compute,utility/.test(s.args)));
  });

  test("apt hygiene: no recommends, lists removed in the same layer", () => {
    for (const r of runs.filter((r) => r.includes("apt-get install"))) {
      assert.match(r, /--no-install-recommends/);
      assert.match(r, /rm -rf \/var\/lib\/apt\/lists\/\*/);
    }
  });

  test("runs as a non-root user with glmbot serve as the command", () => {
    const user = final.filter((s) => s.op === "USER").at(-1);
    assert.ok(user && !/^(root|0)(:|$)/.test(user.args), "a USER that is not root");
    const userAt = final.indexOf(user!);
    assert.ok(final.slice(userAt).every((s) => s.op !== "RUN"), "nothing runs as root after USER");
    const entrypoint = JSON.parse(final.find((s) => s.op === "ENTRYPOINT")!.args) as string[];
    const cmd = JSON.parse(final.find((s) => s.op === "CMD")!.args) as string[];
    assert.deepEqual([...entrypoint, ...cmd], ["node", "bin/glmbot.js", "serve"]);
    assert.ok(final.some((s) => s.op === "EXPOSE" && s.args === "8080"));
  });

  test("what it copies exists and is not excluded by .dockerignore", () => {
    const ignored = read(".dockerignore").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    for (const must of ["node_modules", "models", "data", ".env", ".git"]) assert.ok(ignored.includes(must), `.dockerignore lists ${must}`);
    const copies = steps.filter((s) => s.op === "COPY" && !s.args.includes("--from="));
    assert.ok(copies.length > 0);
    for (const copy of copies) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(path.join(ROOT, src)), `${src} exists`);
        assert.ok(!ignored.includes(src), `${src} is not ignored`);
      }
    }
  });

  test("the healthcheck command reports /readyz", async () => {
    const hc = final.find((s) => s.op === "HEALTHCHECK")!.args;
    assert.match(hc, /--start-period=\d+m/);
    const command = JSON.parse(hc.slice(hc.indexOf("CMD") + 3).trim()) as string[];
    let ready = false;
    const server = createServer((req, res) => res.writeHead(req.url === "/readyz" && ready ? 200 : 503).end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = String((server.address() as AddressInfo).port);
    const run = () =>
      new Promise<number>((resolve) => {
        execFile(process.execPath, command.slice(1), { env: { GLMBOT_PORT: port } }, (err) => resolve(err ? ((err as { code?: number }).code ?? 1) : 0));
      });
    try {
      assert.equal(command[0], "node");
      assert.equal(await run(), 1, "503 while loading = unhealthy");
      ready = true;
      assert.equal(await run(), 0, "200 = healthy");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
