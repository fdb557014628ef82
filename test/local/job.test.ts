// The local job runner on generated files, against the sandbox through the real handler: every line
// ends applied or failed with its reason, the report names the failed ones by line number, and the
// retry file holds exactly those lines, verbatim.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { runJob } from "../../local/job.ts";
import { customerUpdates } from "../support/fixtures.ts";
import { startWorld, type World } from "../support/harness.ts";

let world: World;
let directory: string;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2" });
  directory = await mkdtemp(join(tmpdir(), "kbu-job-"));
});
beforeEach(() => world.kustomer.reset());
afterAll(async () => {
  await world.stop();
  await rm(directory, { recursive: true, force: true });
});

/** Kustomer applies an operation 1 s after accepting it: each status round moves its clock on. */
const options = { handler: advancingClock, concurrency: 3, pollMs: 1 };
function advancingClock(event: unknown, context: Context) {
  if ((event as { action?: string }).action === "status") world.advance(1_000);
  return world.handler(event, context);
}

async function jobFile(name: string, lines: string[]): Promise<string> {
  const file = join(directory, name);
  await writeFile(file, `${lines.join("\n")}\n`);
  return file;
}

it("names three broken lines and two customers Kustomer failed, each by line number, and puts exactly those five lines in the retry file", async () => {
  const updates: Array<Record<string, unknown>> = customerUpdates(1_000);
  // Every customer exists except those of lines 400 and 800, which Kustomer fails.
  world.kustomer.addCustomers(updates.filter((_, index) => index !== 399 && index !== 799).map(({ id }) => ({ id: id as string })));
  const lines = updates.map((update) => JSON.stringify(update));
  lines[9] = "{not json";
  lines[499] = JSON.stringify({ ...updates[499], gender: "x" });
  lines[949] = JSON.stringify({ ...updates[949], emails: [{ email: "not an email" }] });
  const file = await jobFile("updates.jsonl", lines);

  const report = await runJob(file, { ...options, retryFile: `${file}.retry.jsonl` });

  expect(report).toEqual({
    lines: 1_000,
    sent: 997,
    applied: 995,
    failed: 5,
    failures: [
      { line: 10, reason: "is not JSON" },
      { line: 400, id: updates[399]!.id, reason: "customer not found" },
      { line: 500, id: updates[499]!.id, reason: expect.stringMatching(/^gender: /) },
      { line: 800, id: updates[799]!.id, reason: "customer not found" },
      { line: 950, id: updates[949]!.id, reason: expect.stringMatching(/^emails\[0\]\.email: /) },
    ],
  });
  const retry = (await readFile(`${file}.retry.jsonl`, "utf8")).split("\n").filter(Boolean);
  expect(retry).toEqual([lines[9], lines[399], lines[499], lines[799], lines[949]]);
  // Each valid line was sent once.
  expect(world.kustomer.bulkPuts.flatMap((put) => put.body as unknown[])).toHaveLength(997);
});

it("fails a batch Kustomer refused, or that stayed unavailable, line by line, and keeps an invalid line's own reason", async () => {
  const updates = customerUpdates(300);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const lines = updates.map((update) => JSON.stringify(update));
  lines[50] = JSON.stringify({ ...updates[50], gender: "x" });
  // Blank lines count in the numbering, as an editor shows it.
  lines.splice(200, 0, "", "   ");
  const file = await jobFile("faults.jsonl", lines);
  // The first batch is refused (400); the third stays unavailable past the function's attempts.
  world.kustomer.inject({ method: "PUT", match: (request) => JSON.stringify(request.body).includes(updates[0]!.id), fault: { status: 400 } });
  world.kustomer.inject({ method: "PUT", match: (request) => JSON.stringify(request.body).includes(updates[299]!.id), times: 10, fault: { status: 503 } });

  const report = await runJob(file, { ...options, retryFile: `${file}.retry.jsonl` });

  expect(report).toMatchObject({ lines: 300, sent: 100, applied: 100, failed: 200 });
  const byLine = new Map(report.failures.map((failure) => [failure.line, failure]));
  expect(byLine.get(1)).toEqual({ line: 1, id: updates[0]!.id, reason: expect.stringMatching(/^KustomerRequestError: .*400/) });
  expect(byLine.get(51)?.reason).toMatch(/^gender: /);
  // Lines 201 and 202 are blank: the third batch is lines 203 to 302.
  expect([...byLine.keys()].filter((line) => line > 200)).toEqual(Array.from({ length: 100 }, (_, index) => 203 + index));
  expect(byLine.get(302)).toEqual({ line: 302, id: updates[299]!.id, reason: expect.stringMatching(/^KustomerUnavailableError: /) });
  const retry = (await readFile(`${file}.retry.jsonl`, "utf8")).split("\n").filter(Boolean);
  expect(retry).toHaveLength(200);
  expect(retry).toEqual(lines.filter((_, index) => index < 100 || index >= 202));
});

it("ends its progress with one 100% line whose bar, percentage and count agree, and says how to re-run the failures", async () => {
  const file = await jobFile("progress.jsonl", [...customerUpdates(350).map((update) => JSON.stringify(update)), "", "{not json"]);
  const { stdout, stderr } = await promisify(execFile)("npm", ["run", "-s", "job", "--", file]).catch((error: { stdout: string; stderr: string }) => error);
  const progress = stderr.split("\n").filter((line) => line.startsWith("["));
  expect(progress.at(-1)).toMatch(/^\[#{30}\] 100% 351 lines done, \d+\/s, ETA 0 s$/);
  for (const line of progress) {
    const [, bar, percent] = /^\[([#.]{30})\]\s+(\d+)%/.exec(line) ?? [];
    expect(bar?.replaceAll(".", "").length).toBe(Math.round((Number(percent) / 100) * 30));
  }
  expect(stdout).toMatch(/^351 lines: 350 sent, 350 applied, 1 failed, in [\d.]+ s/m);
  expect(stdout).toContain(`npm run job -- ${file}.retry.jsonl`);
  expect(await readFile(`${file}.retry.jsonl`, "utf8")).toBe("{not json\n");
});
