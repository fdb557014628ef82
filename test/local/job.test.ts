// The local job (`npm run job`): the job's own steps over a folder standing for the bucket, against the
// sandbox. Every line ends applied, failed, in doubt or unsent; the report names the others by line
// number with their state and reason, and the retry file holds exactly those lines, verbatim.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import type { JobServices, runJob as RunJob } from "../../local/job.ts";
import { customerUpdates } from "../support/fixtures.ts";
import { startWorld, type World } from "../support/harness.ts";

let world: World;
let services: JobServices;
let runJob: typeof RunJob;
let directory: string;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2" });
  // Loaded after the world, so the job's steps and the client share its fresh modules.
  services = (await import("../../lambda/composition/services.ts")).servicesFor(process.env);
  ({ runJob } = await import("../../local/job.ts"));
  directory = await mkdtemp(join(tmpdir(), "kbu-job-"));
});
beforeEach(() => world.kustomer.reset());
afterAll(async () => {
  await world.stop();
  await rm(directory, { recursive: true, force: true });
});

/** Kustomer applies an operation 1 s after accepting it: each poll moves its clock on. */
const options = () => ({ services, concurrency: 3, pollMs: 1, retryDelayMs: 1, onProgress: () => world.advance(1_000) });

async function jobFile(name: string, lines: Array<string | Buffer>): Promise<string> {
  const file = join(directory, name);
  await writeFile(file, Buffer.concat(lines.flatMap((line) => [Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from("\n")])));
  return file;
}

interface Report {
  lines: number;
  applied: number;
  failed: number;
  inDoubt: number;
  unsent: number;
  failures: Array<{ line: number; id?: string; state: string; reason: string }>;
}
const reportOf = async (file: string) => JSON.parse(await readFile(`${file}.report.json`, "utf8")) as Report;
const retryOf = async (file: string) => (await readFile(`${file}.retry.jsonl`, "utf8")).split("\n").filter(Boolean);

it("names three broken lines and two customers Kustomer failed, each by line number, and puts exactly those five lines in the retry file", async () => {
  const updates: Array<Record<string, unknown>> = customerUpdates(1_000);
  // Every customer exists except those of lines 400 and 800, which Kustomer fails.
  world.kustomer.addCustomers(updates.filter((_, index) => index !== 399 && index !== 799).map(({ id }) => ({ id: id as string })));
  const lines = updates.map((update) => JSON.stringify(update));
  lines[9] = "{not json";
  lines[499] = JSON.stringify({ ...updates[499], gender: "x" });
  lines[949] = JSON.stringify({ ...updates[949], emails: [{ email: "not an email" }] });
  const file = await jobFile("updates.jsonl", lines);

  const summary = await runJob(file, options());

  expect(summary).toMatchObject({
    lines: 1_000,
    sent: 997,
    applied: 995,
    failed: 5,
    inDoubt: 0,
    unsent: 0,
    unchanged: 0,
    reportFile: `${file}.report.json`,
  });
  expect((await reportOf(file)).failures).toEqual([
    { line: 10, state: "failed", reason: "is not JSON" },
    { line: 400, id: updates[399]!.id, state: "failed", reason: "customer not found" },
    { line: 500, id: updates[499]!.id, state: "failed", reason: expect.stringMatching(/^gender: /) },
    { line: 800, id: updates[799]!.id, state: "failed", reason: "customer not found" },
    { line: 950, id: updates[949]!.id, state: "failed", reason: expect.stringMatching(/^emails\[0\]\.email: /) },
  ]);
  expect(await retryOf(file)).toEqual([lines[9], lines[399], lines[499], lines[799], lines[949]]);
  // Each valid line was sent once, and the work folder is gone.
  expect(world.kustomer.bulkPuts.flatMap((put) => put.body as unknown[])).toHaveLength(997);
  await expect(readFile(`${file}.job/job.jsonl`)).rejects.toMatchObject({ code: "ENOENT" });
});

it("fails each line alone: not UTF-8, over 1 MB, a customer already on an earlier line; a byte order mark is ignored", async () => {
  const updates = customerUpdates(150);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const lines: Array<string | Buffer> = updates.map((update) => JSON.stringify(update));
  lines[0] = `\ufeff${lines[0] as string}`;
  // A Latin-1 name: "José García" as ISO-8859-1 bytes.
  lines[3] = Buffer.concat([
    Buffer.from(`{"id":"${updates[3]!.id}","name":"Jos`),
    Buffer.from([0xe9]),
    Buffer.from(" Garc"),
    Buffer.from([0xed]),
    Buffer.from('a"}'),
  ]);
  lines[7] = JSON.stringify({ id: updates[7]!.id, name: "x".repeat(1_100_000) });
  lines[120] = JSON.stringify({ ...updates[120], id: updates[5]!.id });
  const file = await jobFile("lines.jsonl", lines);

  const summary = await runJob(file, options());

  expect(summary).toMatchObject({ lines: 150, applied: 147, failed: 3, inDoubt: 0, unsent: 0 });
  expect((await reportOf(file)).failures).toEqual([
    { line: 4, state: "failed", reason: "is not valid UTF-8" },
    { line: 8, state: "failed", reason: "is over 1 MB" },
    { line: 121, id: updates[5]!.id, state: "failed", reason: "id: the same customer as line 6" },
  ]);
  // The line with the mark was sent, without it; the long line's batch-mates were sent.
  const sent = world.kustomer.bulkPuts.flatMap((put) => (put.body as Array<{ id: string }>).map((update) => update.id));
  expect(sent).toContain(updates[0]!.id);
  expect(sent).toHaveLength(147);
  // The retry file holds the three lines byte for byte, the unreadable ones too.
  const retry = await readFile(`${file}.retry.jsonl`);
  expect(
    retry.equals(
      Buffer.concat([lines[3], lines[7], lines[120]].flatMap((line) => [Buffer.from(line as string | Buffer), Buffer.from("\n")])),
    ),
  ).toBe(true);
});

it("fails a batch Kustomer refused, or that stayed unavailable, line by line; an invalid line keeps its own reason", async () => {
  const updates = customerUpdates(300);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const lines = updates.map((update) => JSON.stringify(update));
  lines[50] = JSON.stringify({ ...updates[50], gender: "x" });
  // Blank lines count in the numbering, as an editor shows it.
  lines.splice(200, 0, "", "   ");
  const file = await jobFile("faults.jsonl", lines);
  // The first batch is refused (400); the third stays unavailable past every retry.
  world.kustomer.inject({
    method: "PUT",
    match: (request) => JSON.stringify(request.body).includes(updates[0]!.id),
    fault: { status: 400 },
  });
  world.kustomer.inject({
    method: "PUT",
    match: (request) => JSON.stringify(request.body).includes(updates[299]!.id),
    times: 100,
    fault: { status: 503 },
  });

  const summary = await runJob(file, options());

  expect(summary).toMatchObject({ lines: 300, sent: 100, applied: 100, failed: 200, inDoubt: 0, unsent: 0 });
  const byLine = new Map((await reportOf(file)).failures.map((failure) => [failure.line, failure]));
  expect(byLine.get(1)).toEqual({
    line: 1,
    id: updates[0]!.id,
    state: "failed",
    reason: expect.stringMatching(/^KustomerRequestError: .*400/),
  });
  expect(byLine.get(51)?.reason).toMatch(/^gender: /);
  // Lines 201 and 202 are blank: the third batch is lines 203 to 302.
  expect([...byLine.keys()].filter((line) => line > 200)).toEqual(Array.from({ length: 100 }, (_, index) => 203 + index));
  expect(byLine.get(302)).toEqual({
    line: 302,
    id: updates[299]!.id,
    state: "failed",
    reason: expect.stringMatching(/^KustomerUnavailableError: /),
  });
  expect(await retryOf(file)).toEqual(lines.filter((_, index) => index < 100 || index >= 202));
});

it("puts a batch whose request went unanswered in doubt, not failed, and sends it once", async () => {
  const updates = customerUpdates(200);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const file = await jobFile(
    "doubt.jsonl",
    updates.map((update) => JSON.stringify(update)),
  );
  // The connection drops after the request went out, on both of the client's attempts.
  world.kustomer.inject({
    method: "PUT",
    match: (request) => JSON.stringify(request.body).includes(updates[150]!.id),
    times: 2,
    fault: { reset: true },
  });

  const summary = await runJob(file, options());

  expect(summary).toMatchObject({ lines: 200, applied: 100, failed: 0, inDoubt: 100, unsent: 0 });
  const report = await reportOf(file);
  expect(report.failures[0]).toEqual({
    line: 101,
    id: updates[100]!.id,
    state: "inDoubt",
    reason: expect.stringMatching(/^KustomerUnavailableError: .*ECONNRESET/),
  });
  // Not sent again after the client's own attempts: the state machine's retry is for what nothing reached.
  expect(world.kustomer.bulkPuts.filter((put) => JSON.stringify(put.body).includes(updates[150]!.id))).toHaveLength(2);
});

it("rides out 20 s of 503s on status reads, reading again until the operations are applied, and still reports", async () => {
  const updates = customerUpdates(300);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const file = await jobFile(
    "outage.jsonl",
    updates.map((update) => JSON.stringify(update)),
  );
  world.kustomer.inject({ method: "GET", path: /^\/v1\/bulk\//, times: 20, fault: { status: 503 } });

  const summary = await runJob(file, options());

  expect(summary).toMatchObject({ lines: 300, applied: 300, failed: 0, inDoubt: 0, unsent: 0 });
  expect(await retryOf(file)).toEqual([]);
});

it("puts the lines of an operation still not complete at the status timeout in doubt", async () => {
  const updates = customerUpdates(10);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const file = await jobFile(
    "slow.jsonl",
    updates.map((update) => JSON.stringify(update)),
  );
  // No time passes for Kustomer: it is still working when the job stops waiting.
  const summary = await runJob(file, { ...options(), onProgress: undefined, statusTimeoutMs: 50 });
  expect(summary).toMatchObject({ lines: 10, sent: 10, applied: 0, inDoubt: 10 });
  expect((await reportOf(file)).failures[0]?.reason).toMatch(/^Kustomer did not complete bulk operation [0-9a-f]{24} within 1 minutes$/);
});

/** `npm run job` typed in `cwd`, a folder of the user's outside the repository. */
const npmJob = (args: string[], cwd: string) =>
  promisify(execFile)("npm", ["--prefix", process.cwd(), "run", "-s", "job", "--", ...args], { cwd }).then(
    (result) => ({ ...result, code: 0 }),
    (error: { stdout: string; stderr: string; code: number }) => error,
  );

it("ends its progress with one 100% line, says how many lines were sent and how to re-run the rest, and reads a relative path from the user's folder", async () => {
  const folder = join(directory, "mine");
  await mkdir(folder, { recursive: true });
  await writeFile(
    join(folder, "progress.jsonl"),
    `${[...customerUpdates(350).map((update) => JSON.stringify(update)), "", "{not json"].join("\n")}\n`,
  );
  const { stdout, stderr, code } = await npmJob(["progress.jsonl"], folder);
  const progress = stderr.split("\n").filter((line) => line.startsWith("["));
  expect(progress.at(-1)).toMatch(/^\[#{30}\] 100% 351 of 351 lines done, 350 sent, \d+\/s$/);
  for (const line of progress) {
    const [, bar, percent] = /^\[([#.]{30})\]\s+(\d+)%/.exec(line) ?? [];
    expect(bar?.replaceAll(".", "").length).toBe(Math.round((Number(percent) / 100) * 30));
  }
  expect(stdout).toMatch(/^351 lines: 350 sent, 350 applied, 1 failed, 0 in doubt, 0 not sent, in [\d.]+ s/m);
  expect(stdout).toContain(`npm run job -- ${join(folder, "progress.jsonl")}.retry.jsonl`);
  expect(await readFile(join(folder, "progress.jsonl.retry.jsonl"), "utf8")).toBe("{not json\n");
  expect(code).toBe(1);
});

it.each([
  ["a missing file", "missing.jsonl", /^npm run job: cannot read .*missing\.jsonl \(ENOENT\)$/],
  ["a folder", ".", /^npm run job: .* is not a file$/],
])("answers %s with one line and exit code 2", async (_, argument, message) => {
  const { stderr, code } = await npmJob([argument], directory);
  expect(code).toBe(2);
  expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(message)]);
});
