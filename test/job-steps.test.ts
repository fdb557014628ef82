// The job's steps when a step is cut off midway, over the folder store (the local job's), against the
// sandbox: what a step recorded before it stopped is neither lost nor counted twice.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JobServices } from "../local/job.ts";
import { customerUpdates } from "./support/fixtures.ts";
import { startWorld, type World } from "./support/harness.ts";

let world: World;
let services: JobServices;
let folder: string;
beforeAll(async () => {
  world = await startWorld();
  services = (await import("../lambda/composition/services.ts")).servicesFor(process.env);
  folder = await mkdtemp(join(tmpdir(), "kbu-steps-"));
});
afterAll(async () => {
  await world.stop();
  await rm(folder, { recursive: true, force: true });
});

it("counts a Follow cut off after settling a batch's file, before the ledger, once: the report agrees with its lines", async () => {
  const steps = await import("../lambda/job/steps.ts");
  const following = await import("../lambda/job/follow.ts");
  const { JobFolder } = await import("../local/job-folder.ts");
  const updates = customerUpdates(150);
  world.kustomer.addCustomers(updates.slice(0, 149).map(({ id }) => ({ id })));
  await writeFile(join(folder, "job.jsonl"), `${updates.map((update) => JSON.stringify(update)).join("\n")}\n`);
  const store = new JobFolder(folder);
  const run = "cut-off";
  const plan = await steps.plan(store, "job.jsonl", run);
  const items = await store.getJson<Array<Parameters<typeof steps.lines>[1]>>(plan.batchesKey);
  const children = [];
  for (const item of items)
    children.push({
      first: item.first,
      status: "SUCCEEDED",
      output: (await steps.lines(store, item, services, Date.now() + 60_000)) as never,
    });
  await steps.collect(store, run, children);
  world.advance(1_000);

  // The ledger's write fails once: the batch files are settled, the ledger still lists their operations.
  const failing = Object.assign(Object.create(store), {
    put: async (key: string, body: string) => {
      if (key.endsWith("ledger.json")) throw new Error("the disk is full");
      return store.put(key, body);
    },
  }) as typeof store;
  const options = { ...services, deadlineAt: Date.now() + 60_000 };
  await expect(following.follow(failing, run, options, 10_000)).rejects.toThrow("the disk is full");
  // Following stopped for good (the state machine's Catch goes to Report): the report takes the files' counts.
  const reportStep = await import("../lambda/job/report.ts");
  const summary = await reportStep.report(store, "job.jsonl", run, 360, { Error: "Error", Cause: "the disk is full" });

  expect(summary).toMatchObject({ lines: 150, applied: 149, failed: 1, inDoubt: 0, unsent: 0 });
  const report = await store.getJson<{ failures: Array<{ line: number; state: string }> }>(`results/${run}/report.json`);
  expect(report.failures).toEqual([expect.objectContaining({ line: 150, state: "failed" })]);
});
