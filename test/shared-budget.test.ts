// The org's rate budget is shared (CONTRACT §2.5): a large job through the job's own steps, against the
// sandbox's org-wide budget in short windows, must leave a neighbour of the same org its share.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { JobServices, runJob as RunJob } from "../local/job.ts";
import { SEED_CUSTOMERS } from "../local/sandbox-records.ts";
import { customerUpdates } from "./support/fixtures.ts";
import { startWorld, type World } from "./support/harness.ts";

/** 20 requests a second for the whole org: 4 kept free by the default headroom of 0.2. */
const BUDGET = 20;
const WINDOW_MS = 1_000;
/** The neighbour: another integration of the same org, at 10% of the budget. */
const NEIGHBOUR_KEY = "kst_neighbour_integration_key";
const NEIGHBOUR_EVERY_MS = WINDOW_MS / (BUDGET * 0.1);
const LINES = 6_000;

let world: World;
let services: JobServices;
let runJob: typeof RunJob;
let directory: string;
beforeAll(async () => {
  world = await startWorld({}, { rateLimitPerMinute: BUDGET, rateLimitWindowMs: WINDOW_MS });
  // Loaded after the world, so the job's steps and the client share its fresh modules.
  services = (await import("../lambda/composition/services.ts")).servicesFor(process.env);
  ({ runJob } = await import("../local/job.ts"));
  world.kustomer.apiKeys.add(NEIGHBOUR_KEY);
  directory = await mkdtemp(join(tmpdir(), "kbu-budget-"));
});
afterAll(async () => {
  await world.stop();
  await rm(directory, { recursive: true, force: true });
});

it("keeps the headroom free: a steady neighbour gets no 429 while a job spends the rest, each update sent once", async () => {
  const updates = customerUpdates(LINES);
  world.kustomer.addCustomers(updates.map(({ id }) => ({ id })));
  const file = join(directory, "updates.jsonl");
  await writeFile(file, `${updates.map((update) => JSON.stringify(update)).join("\n")}\n`);
  const url = `${process.env.KUSTOMER_BASE_URL}/v1/customers/${SEED_CUSTOMERS[0]?.id}`;

  const neighbourStatuses: number[] = [];
  let jobDone = false;
  const neighbour = (async () => {
    while (!jobDone) {
      const response = await fetch(url, { headers: { authorization: `Bearer ${NEIGHBOUR_KEY}` } });
      await response.arrayBuffer();
      neighbourStatuses.push(response.status);
      await new Promise((resolve) => setTimeout(resolve, NEIGHBOUR_EVERY_MS));
    }
  })();
  const waits: number[] = [];
  const report = await runJob(file, {
    services,
    concurrency: 3,
    onProgress: ({ waitingUntil }) => waitingUntil && waits.push(waitingUntil),
  }).finally(() => {
    jobDone = true;
  });
  await neighbour;

  // Sent, then followed until applied: the status reads share the budget too.
  expect(report).toMatchObject({ lines: LINES, sent: LINES, applied: LINES, failed: 0, inDoubt: 0, unsent: 0 });
  // The budget bound: the job needed more than one window, so the neighbour ran beside it throughout.
  expect(neighbourStatuses.length).toBeGreaterThan(BUDGET * 0.1 * 2);
  expect(neighbourStatuses.filter((status) => status !== 200)).toEqual([]);
  expect(world.kustomer.rateLimited).toBe(0);
  // The progress said when the job was holding back for the budget.
  expect(waits.length).toBeGreaterThan(0);
  const sent = world.kustomer.bulkPuts.flatMap((put) => (put.body as Array<{ id: string }>).map((item) => item.id));
  expect(sent).toHaveLength(LINES);
  expect(new Set(sent).size).toBe(LINES);
});
