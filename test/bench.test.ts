// `npm run bench` measures, it does not edit: a run (the quick one here) leaves `git status` as it was
// and writes its figures to the ignored bench/.out/results.json.
import { execFile } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);
const gitStatus = async () => (await run("git", ["status", "--porcelain", "--untracked-files=all"])).stdout;

it("leaves the working tree as it found it, and writes its results where git ignores them", async () => {
  const before = await gitStatus();
  const started = Date.now();
  const { stdout } = await run("npm", ["run", "-s", "bench"], { env: { ...process.env, BENCH_QUICK: "1" }, maxBuffer: 16 * 1024 * 1024 });
  expect(stdout).toContain("written to bench/.out/results.json");
  expect(await gitStatus()).toBe(before);
  expect((await stat("bench/.out/results.json")).mtimeMs).toBeGreaterThan(started);
  const results = JSON.parse(await readFile("bench/.out/results.json", "utf8"));
  expect(results.targets.length).toBeGreaterThan(5);
}, 180_000);
