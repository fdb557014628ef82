// On a fresh clone, `npm start` and `npm test` each work as the very first command: they install
// from the lock file themselves. A real clone of this repository and a real `npm ci`.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort, startUntil } from "../support/processes.ts";

const run = promisify(execFile);
let directory: string;

async function freshClone(name: string): Promise<string> {
  const clone = join(directory, name);
  await run("git", ["clone", "--quiet", process.cwd(), clone]);
  return clone;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "kbu-fresh-"));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

// The two clones install at once: each install waits on the network and the disk more than on the CPU.
it.concurrent("runs npm start first: it installs, then serves", async () => {
  const clone = await freshClone("start");
  const [port, sandboxPort] = [await freePort(), await freePort()];
  const server = await startUntil(
    "npm",
    ["start", "--prefix", clone],
    { PORT: String(port), SANDBOX_PORT: String(sandboxPort) },
    "ready",
    150_000,
  );
  try {
    expect(server.output()).toContain("node_modules is missing: npm ci");
    const response = await fetch(`http://127.0.0.1:${port}/customers/bulk?dryRun=true`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '[{"id":"5e4c41c8c9f1e7001a5a3b2c","tags":["vip"]}]',
    });
    expect(response.status).toBe(200);
  } finally {
    server.stop();
  }
}, 180_000);

it.concurrent("runs npm test first: it installs, type-checks and runs the tests (one small file here)", async () => {
  const clone = await freshClone("test");
  const { stdout, stderr } = await run("npm", ["test", "--", "test/openapi.test.ts"], { cwd: clone, maxBuffer: 16 * 1024 * 1024 });
  expect(stderr).toContain("node_modules is missing: npm ci");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape that starts a terminal colour code
  expect(stdout.replace(/\u001b\[\d+m/g, "")).toMatch(/Tests\s+2 passed/);
  // Once installed, nothing is installed again.
  const again = await run("npm", ["test", "--", "test/openapi.test.ts"], { cwd: clone });
  expect(again.stderr).not.toContain("npm ci");
}, 180_000);
