// The local job runner on a generated file with injected faults: every line is in the report, once.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runJob } from "../../local/job.ts";
import { customerUpdates } from "../support/fixtures.ts";
import { startWorld, type World } from "../support/harness.ts";

let world: World;
let directory: string;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2" });
  directory = await mkdtemp(join(tmpdir(), "kbu-job-"));
});
afterAll(async () => {
  await world.stop();
  await rm(directory, { recursive: true, force: true });
});

it("accounts for every line: accepted, or failed with its customer ids and reason, an invalid line alone", async () => {
  const updates: Array<Record<string, unknown>> = customerUpdates(2_500);
  updates[1_499] = { ...updates[1_499], gender: "x" };
  const lines = updates.map((update) => JSON.stringify(update));
  lines.splice(1_000, 0, "{not json");
  const file = join(directory, "updates.jsonl");
  await writeFile(file, `${lines.join("\n")}\n`);

  const transient = updates[500]!.id as string;
  const permanent = updates[2_000]!.id as string;
  world.kustomer.inject({ match: (request) => JSON.stringify(request.body).includes(transient), fault: { status: 503 } });
  world.kustomer.inject({ match: (request) => JSON.stringify(request.body).includes(permanent), fault: { status: 400 } });

  const progress: number[] = [];
  const report = await runJob(file, { handler: world.handler, concurrency: 3, onProgress: ({ items }) => progress.push(items) });

  const batchOf = (id: string) => {
    const index = updates.findIndex((update) => update.id === id);
    const start = Math.floor(index / 100) * 100;
    return updates.slice(start, start + 100).map((update) => update.id);
  };
  expect(report.items).toBe(2_501);
  // The invalid line fails alone: the 99 others of its batch are sent.
  expect(report.failed).toBe(102);
  expect(report.accepted).toBe(2_399);
  expect(report.failures).toEqual(
    expect.arrayContaining([
      { customerIds: ["(line 1001)"], error: "ValidationError", reason: "line 1001 is not JSON" },
      { customerIds: [updates[1_499]!.id], error: "ValidationError", reason: expect.stringMatching(/^gender: /) },
      { customerIds: batchOf(permanent), error: "KustomerRequestError", reason: expect.stringContaining("400") },
    ]),
  );
  // Every customer id once: accepted by Kustomer, or in a failure.
  const accepted = report.bulkIds.flatMap((bulkId) => world.kustomer.operations.get(bulkId)?.customerIds ?? []);
  const failed = report.failures.flatMap((failure) => failure.customerIds).filter((id) => !id.startsWith("("));
  expect([...accepted, ...failed].sort()).toEqual(updates.map((update) => update.id).sort());
  expect(progress.at(-1)).toBe(2_500);
});

it("ends its progress with one 100% line whose bar, percentage and count agree", async () => {
  const file = join(directory, "progress.jsonl");
  await writeFile(file, `${customerUpdates(350).map((update) => JSON.stringify(update)).join("\n")}\n\n{not json\n`);
  const { stderr } = await promisify(execFile)("npm", ["run", "-s", "job", "--", file]).catch((error: { stderr: string }) => error);
  const progress = stderr.split("\n").filter((line) => line.startsWith("["));
  expect(progress.at(-1)).toMatch(/^\[#{30}\] 100% 351 lines done, \d+\/s, ETA 0 s$/);
  for (const line of progress) {
    const [, bar, percent] = /^\[([#.]{30})\]\s+(\d+)%/.exec(line) ?? [];
    expect(bar?.replaceAll(".", "").length).toBe(Math.round((Number(percent) / 100) * 30));
  }
});
