/**
 * `glmbot pull` as a child process against a local HTTP server (127.0.0.1, Range support): progress, checksum,
 * skip when complete (no request at all), resume after Ctrl-C with Range requests only for the missing
 * chunks, the stall watchdog, and clear errors when the host is unreachable or the file is wrong.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { BIN, ROOT, waitExit } from "../e2e/serviceProcess.js";
import { ggufLikeBytes, sha256, startRangeServer, type RangeServer } from "./rangeServer.js";

const SIZE = 3 * 5 * 1024 * 1024 + 12_345; // four of ipull's 5 MiB chunks
const DATA = ggufLikeBytes(SIZE);

function pull(args: string[]) {
  const child = spawn(process.execPath, [BIN, "pull", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return { child, out: () => ({ stdout, stderr }), done: async () => ({ code: await waitExit(child, 120_000), stdout, stderr }) };
}

/** The chunk map ipull appends after the data in `<file>.ipull` (2 = complete). */
function savedChunks(partial: string): number[] {
  try {
    const bytes = readFileSync(partial);
    return bytes.length > SIZE ? (JSON.parse(bytes.subarray(SIZE).toString("utf8")).chunks as number[]) : [];
  } catch {
    return [];
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe("glmbot pull", () => {
  let server: RangeServer;
  const url = () => `${server.origin}/files/model.gguf`;

  before(async () => {
    server = await startRangeServer({ "/files/model.gguf": DATA, "/files/page.gguf": Buffer.from("<html>sign in</html>".padEnd(4096, " ")) });
  });
  after(() => server.close());

  test("downloads with progress into the models directory, then skips the complete file", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-pull-"));
    const first = await pull([url(), "--models-dir", dir]).done();
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Pulling http:\/\/127\.0\.0\.1:\d+\/files\/model\.gguf into /);
    assert.match(first.stderr, /progress 0% /);
    assert.match(first.stderr, /progress 50% /);
    assert.match(first.stderr, /progress 100% 15\.7 MB\/15\.7 MB/);
    assert.match(first.stdout, /Downloaded .*model\.gguf \(15\.7 MB\)\./);
    assert.equal(sha256(readFileSync(path.join(dir, "model.gguf"))), sha256(DATA));
    assert.equal(existsSync(path.join(dir, "model.gguf.ipull")), false);

    const requests = server.requests.length;
    const again = await pull([url(), "--models-dir", dir]).done();
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Already downloaded: .*model\.gguf \(15\.7 MB\); nothing to do\./);
    assert.equal(server.requests.length, requests, "a complete file needs no network");
  });

  test("an interrupted download resumes with Range requests for the missing chunks only", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-resume-"));
    const partial = path.join(dir, "model.gguf.ipull");
    server.mode = "cut"; // the first chunk arrives in full, every other range stops after 1 kB
    const first = pull([url(), "--models-dir", dir]);
    for (let i = 0; i < 2400 && savedChunks(partial)[0] !== 2 && first.child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(savedChunks(partial)[0], 2, `chunk 0 saved; ${JSON.stringify(first.out())}`);
    first.child.kill("SIGINT"); // Ctrl-C
    const stopped = await first.done();
    assert.equal(stopped.code, 130);
    assert.match(stopped.stderr, /glmbot pull: interrupted; .* kept in .*model\.gguf\.ipull — run glmbot pull again to resume\./);
    assert.ok(existsSync(partial));

    server.mode = "normal";
    const before = server.requests.length;
    const second = await pull([url(), "--models-dir", dir]).done();
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /Resuming an interrupted download: 5\.2 MB of 15\.7 MB already here/);
    assert.match(second.stdout, /resumed after 5\.2 MB/);
    const gets = server.requests.slice(before).filter((r) => r.method === "GET" && r.range !== undefined);
    assert.ok(gets.length > 0, "resumed with Range requests");
    assert.ok(gets.every((r) => !r.range!.startsWith("bytes=0-")), `the saved chunk was not fetched again: ${JSON.stringify(gets)}`);
    assert.equal(sha256(readFileSync(path.join(dir, "model.gguf"))), sha256(DATA));
    assert.equal(existsSync(partial), false);
  });

  test("a stalled transfer is cancelled by the watchdog and the partial file is kept", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-stall-"));
    server.mode = "cut";
    try {
      const result = await pull([url(), "--models-dir", dir, "--stall-timeout", "1"]).done();
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no download progress for 1 s \(network down\?\); .* kept in .*model\.gguf\.ipull — run glmbot pull again to resume\./);
      assert.ok(existsSync(path.join(dir, "model.gguf.ipull")));
    } finally {
      server.mode = "normal";
    }
  });

  test("an unreachable host fails at once with a clear message", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-offline-"));
    const port = await closedPort();
    const result = await pull([`http://127.0.0.1:${port}/m.gguf`, "--models-dir", dir]).done();
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`glmbot pull: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED: connection refused\\) — are you offline\\?`));
    assert.match(result.stderr, /GLMBOT_MODEL/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  });

  test("HTTP errors and files that are not GGUF are refused", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "glmbot-http-"));
    const missing = await pull([`${server.origin}/files/none.gguf`, "--models-dir", dir]).done();
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /answered HTTP 404 — check the preset name or URI/);
    const page = await pull([`${server.origin}/files/page.gguf`, "--models-dir", dir]).done();
    assert.equal(page.code, 1);
    assert.match(page.stderr, /is not a GGUF file/);
    assert.equal(existsSync(path.join(dir, "page.gguf")), false);
  });
});
