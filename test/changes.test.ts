// Sending only what changed (CONTRACT §2.7) against the sandbox, through `npm run job`'s own driver
// and through the synthesized workflow, with the changes table on a real local DynamoDB (dynalite)
// reached by the real SDK: a resync of unchanged customers costs no request, a changed field goes out
// alone with the id, and what Kustomer failed or left in doubt is sent again on the next run.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { COMPLETED_DETAIL_TYPE } from "../lambda/contract/names.ts";
import type { SubmitResult } from "../lambda/contract/results.ts";
import type { JobServices, runJob as RunJob } from "../local/job.ts";
import { definitionFromTemplate, LOCAL_NAMES, runStateMachine } from "../local/state-machines.ts";
import { customerUpdate, spread } from "./support/fixtures.ts";
import { lambdaContext, startWorldWithTables, type WorldWithTables } from "./support/harness.ts";
import { jobStack, objectCreated, runJobMachine } from "./support/job-machine.ts";

const TABLE = "kbu-changes";
let world: WorldWithTables;
let services: JobServices;
let runJob: typeof RunJob;
let directory: string;

beforeAll(async () => {
  world = await startWorldWithTables([TABLE], { CHANGES_TABLE_NAME: TABLE, KUSTOMER_MAX_ATTEMPTS: "2" });
  services = (await import("../lambda/composition/services.ts")).servicesFor(process.env);
  ({ runJob } = await import("../local/job.ts"));
  directory = await mkdtemp(join(tmpdir(), "kbu-changes-"));
});
beforeEach(() => {
  world.kustomer.reset();
  world.dynamodb.faults.length = 0;
});
afterAll(async () => {
  await world.stop();
  await rm(directory, { recursive: true, force: true });
});

type Update = ReturnType<typeof customerUpdate> & Record<string, unknown>;

/** Customers of their own for each test, so that one test's hashes are not another's. */
let nextCustomer = 1;
function customers(count: number, unknownToKustomer?: number): Update[] {
  const start = nextCustomer;
  nextCustomer += count;
  const updates = Array.from({ length: count }, (_, index) => customerUpdate(start + index) as Update);
  world.kustomer.addCustomers(updates.filter((_, index) => index !== unknownToKustomer).map(({ id }) => ({ id })));
  return updates;
}

let files = 0;
async function run(updates: Update[], fullResync = false) {
  const file = join(directory, `updates-${(files += 1)}.jsonl`);
  await writeFile(file, `${updates.map((update) => JSON.stringify(update)).join("\n")}\n`);
  const puts = world.kustomer.bulkPuts.length;
  const summary = await runJob(file, {
    services,
    concurrency: 4,
    pollMs: 1,
    retryDelayMs: 1,
    fullResync,
    onProgress: () => world.advance(1_000),
  });
  const sent = world.kustomer.bulkPuts.slice(puts).map((put) => put.body as Array<Record<string, unknown>>);
  const report = JSON.parse(await readFile(`${file}.report.json`, "utf8")) as { failures: Array<{ line: number; state: string }> };
  return { summary, sent, report };
}

describe("a job with the changes table", () => {
  it("sends 10,000 lines once, costs no request the second time, and then sends only the 500 changed, 100 a request, each with its id and that field", async () => {
    const updates = customers(10_000);

    const first = await run(updates);
    expect(first.summary).toMatchObject({ lines: 10_000, sent: 10_000, applied: 10_000, unchanged: 0 });
    expect(first.sent).toHaveLength(100);

    const second = await run(updates);
    expect(second.summary).toMatchObject({ lines: 10_000, sent: 0, applied: 0, failed: 0, inDoubt: 0, unsent: 0, unchanged: 10_000 });
    expect(second.sent).toHaveLength(0);
    expect(second.report.failures).toEqual([]);

    const changed = new Set(spread(500, 10_000, 7));
    const renamed = updates.map((update, index) => (changed.has(index) ? { ...update, name: `Renamed ${index}` } : update));
    const third = await run(renamed);
    expect(third.summary).toMatchObject({ lines: 10_000, sent: 500, applied: 500, unchanged: 9_500 });
    expect(third.sent).toHaveLength(5);
    for (const body of third.sent) {
      expect(body).toHaveLength(100);
      for (const item of body) expect(Object.keys(item).sort()).toEqual(["_clientRef", "id", "name"]);
    }
    expect(
      third.sent
        .flat()
        .map(({ id }) => id)
        .sort(),
    ).toEqual([...changed].map((index) => updates[index]!.id).sort());

    // Now current: the renamed values cost nothing again.
    expect((await run(renamed)).sent).toHaveLength(0);
  }, 180_000);

  it("sends a changed custom attribute alone inside custom", async () => {
    const updates = customers(10);
    await run(updates);
    const changed = updates.map((update, index) =>
      index === 3 ? { ...update, custom: { ...update.custom, loyaltyTierStr: "platinum" } } : update,
    );

    const { summary, sent } = await run(changed);

    expect(summary).toMatchObject({ sent: 1, applied: 1, unchanged: 9 });
    expect(sent).toEqual([[{ id: updates[3]!.id, custom: { loyaltyTierStr: "platinum" }, _clientRef: updates[3]!.id }]]);
  });

  it("sends again what Kustomer failed, and a field left in doubt even when the source goes back to the old value", async () => {
    // Kustomer does not know one customer yet.
    const updates = customers(200, 10);
    const gone = updates[10]!.id;
    expect((await run(updates)).summary).toMatchObject({ applied: 199, failed: 1 });
    // The second request's connection drops after it went out, on both of the client's attempts.
    world.kustomer.inject({
      method: "PUT",
      match: (request) => JSON.stringify(request.body).includes(updates[150]!.id),
      times: 2,
      fault: { reset: true },
    });
    const renamed = updates.map((update, index) => ({ ...update, name: `Renamed ${index}` }));
    const failing = await run(renamed);
    expect(failing.summary).toMatchObject({ applied: 99, failed: 1, inDoubt: 100, unchanged: 0 });

    // The source goes back to the old names. The in-doubt ones may hold the new name: their name goes
    // out again. The failed one was never applied: it goes out whole.
    world.kustomer.addCustomers([{ id: gone }]);
    const back = await run(updates);
    expect(back.summary).toMatchObject({ sent: 200, applied: 200, unchanged: 0 });
    const items = new Map(back.sent.flat().map((item) => [item.id as string, Object.keys(item).sort()]));
    for (const update of updates.slice(100)) expect(items.get(update.id)).toEqual(["_clientRef", "id", "name"]);
    expect(items.get(gone)).toEqual(["_clientRef", ...Object.keys(updates[10]!)].sort());

    expect((await run(updates)).summary).toMatchObject({ sent: 0, unchanged: 200 });
  });

  it("sends everything with a full resync, and refreshes the hashes", async () => {
    const updates = customers(150);
    await run(updates);

    const full = await run(updates, true);
    expect(full.summary).toMatchObject({ lines: 150, sent: 150, applied: 150, unchanged: 0 });
    expect(full.sent.flat()).toHaveLength(150);
    expect(Object.keys(full.sent[0]![0]!).sort()).toEqual(["_clientRef", ...Object.keys(updates[0]!)].sort());

    expect((await run(updates)).summary).toMatchObject({ sent: 0, unchanged: 150 });
  });

  it("sends everything when the table cannot be read, and says so in the log", async () => {
    const updates = customers(100);
    await run(updates);
    // More than the SDK's attempts at the one read.
    world.dynamodb.faults.push(...Array(10).fill("InternalServerError"));

    const { summary } = await run(updates);

    expect(summary).toMatchObject({ sent: 100, applied: 100, unchanged: 0 });
    expect(world.logs.join("")).toContain("the changes table could not be read: every customer is sent whole");
  });

  it("still fails an invalid or repeated line, by its line number, and counts the rest unchanged", async () => {
    const updates = customers(20);
    await run(updates);
    const lines: Update[] = [...updates];
    lines[4] = { ...updates[4]!, gender: "x" };
    lines.push(updates[7]!);

    const { summary, report } = await run(lines);

    expect(summary).toMatchObject({ lines: 21, sent: 0, failed: 2, unchanged: 19 });
    expect(report.failures.map(({ line, state }) => [line, state])).toEqual([
      [5, "failed"],
      [21, "failed"],
    ]);
  });
});

describe("what is never trusted", () => {
  const invoke = async (request: unknown) => (await world.serviceHandler(request, lambdaContext())) as SubmitResult;
  const readAll = async (result: SubmitResult) => {
    world.advance(2_000);
    await world.serviceHandler({ action: "status", bulkIds: result.operations.map(({ bulkId }) => bulkId) }, lambdaContext());
  };

  it("a value sent and never followed: going back to the value before it sends it again", async () => {
    const [ada] = customers(1) as [Update];
    await readAll(await invoke({ body: [ada] }));
    expect(await invoke({ body: [ada] })).toMatchObject({ unchanged: 1, operations: [] });
    // Accepted, maybe applied by now, and never read.
    await invoke({ body: [{ ...ada, name: "Bob" }] });

    const back = await invoke({ body: [ada] });

    expect(back).toMatchObject({ unchanged: 0, operations: [{ customerIds: [ada.id] }] });
    expect(world.kustomer.bulkPuts.at(-1)?.body).toEqual([{ id: ada.id, name: ada.name, _clientRef: ada.id }]);
  });

  it("a field an ids-mode update or a batch of your own sent: the next command sends it", async () => {
    const updates = customers(2);
    await readAll(await invoke({ body: updates }));
    await invoke({ ids: updates.map(({ id }) => id), body: [{ id: updates[0]!.id, tags: ["other"] }] });
    await world.serviceHandler({ Items: [{ ...updates[1]!, name: "Other" }] }, lambdaContext());

    const again = await invoke({ body: updates });

    expect(again).toMatchObject({ unchanged: 0 });
    expect(world.kustomer.bulkPuts.at(-1)?.body).toEqual([
      { id: updates[0]!.id, tags: updates[0]!.tags, _clientRef: updates[0]!.id },
      // The batch sent every field of its update.
      { ...updates[1]!, _clientRef: updates[1]!.id },
    ]);
  });
});

describe("the change ledger in DynamoDB", () => {
  it("drops, rather than keeps, what an applied operation sent when another run's record has replaced its own", async () => {
    const { DynamoDbChangeLedger } = await import("../lambda/adapters/aws/changes-table.ts");
    const ledger = new DynamoDbChangeLedger(TABLE, 30);
    const deadlineAt = Date.now() + 10_000;
    const id = customerUpdate(90_101).id;
    await ledger.pending("first", [{ id, hashes: { name: "n1", tags: "t1" }, whole: true }], deadlineAt);
    await ledger.applied("first", [{ id, hashes: { name: "n1", tags: "t1" } }], deadlineAt);
    // Two runs: B sends tags and records first; A sends name and records after it.
    await ledger.pending("B", [{ id, hashes: { tags: "t2" } }], deadlineAt);
    await ledger.pending("A", [{ id, hashes: { name: "n2" } }], deadlineAt);
    expect((await ledger.current([id], deadlineAt)).get(id)).toEqual({ tags: "t1" });

    await ledger.applied("B", [{ id, hashes: { tags: "t2" } }], deadlineAt);
    await ledger.applied("A", [{ id, hashes: { name: "n2" } }], deadlineAt);

    // Kustomer holds t2, which was never made current: tags is not trusted.
    expect((await ledger.current([id], deadlineAt)).get(id)).toEqual({ name: "n2" });
  });

  it("makes hashes current only from the pending record that still names the bulk id: an overlapping run's older promotion is dropped", async () => {
    const { DynamoDbChangeLedger } = await import("../lambda/adapters/aws/changes-table.ts");
    const ledger = new DynamoDbChangeLedger(TABLE, 30);
    const deadlineAt = Date.now() + 10_000;
    const id = customerUpdate(90_001).id;
    await ledger.pending("older", [{ id, hashes: { name: "old-hash" } }], deadlineAt);
    await ledger.pending("newer", [{ id, hashes: { name: "new-hash" } }], deadlineAt);

    await ledger.applied("older", [{ id, hashes: { name: "old-hash" } }], deadlineAt);
    expect((await ledger.current([id], deadlineAt)).get(id)).toEqual({});

    await ledger.applied("newer", [{ id, hashes: { name: "new-hash" } }], deadlineAt);
    expect(await ledger.current([id], deadlineAt)).toEqual(new Map([[id, { name: "new-hash" }]]));

    // Failed keeps the current hashes; in doubt drops those of the fields sent.
    await ledger.pending("third", [{ id, hashes: { name: "third-hash" } }], deadlineAt);
    await ledger.failed("third", [id], deadlineAt);
    expect((await ledger.current([id], deadlineAt)).get(id)).toEqual({ name: "new-hash" });
    await ledger.inDoubt([{ id, hashes: { name: "third-hash" } }], deadlineAt);
    expect((await ledger.current([id], deadlineAt)).get(id)).toEqual({});
  });
});

describe("the workflow with the changes table", () => {
  const workflow = definitionFromTemplate({}, "Workflow");
  let executions = 0;
  /** One run of the synthesized workflow: its outcome event's detail, the bodies it sent, and its largest state. */
  async function execute(command: Record<string, unknown>, beforeTask?: (state: string) => void | Promise<void>) {
    const puts = world.kustomer.bulkPuts.length;
    const run = await runStateMachine(workflow, command, world.handler, () => lambdaContext(), {
      executionName: `changes-${(executions += 1)}`,
      beforeTask: async (state) => {
        if (state === "CheckStatus") world.advance(1_000);
        await beforeTask?.(state);
      },
    });
    expect(run.events).toHaveLength(1);
    const sent = world.kustomer.bulkPuts.slice(puts).map((put) => put.body as Array<Record<string, unknown>>);
    // The command stays in the execution input: the states after the first carry the rest.
    const afterStart = run.sizes.filter(({ state }) => !["HasCorrelationId?", "UseExecutionName", "UseCorrelationId"].includes(state));
    const largestState = Math.max(...afterStart.flatMap(({ inputBytes, outputBytes }) => [inputBytes, outputBytes]));
    return { ...(run.events[0] as { detailType: string; detail: Record<string, unknown> }), sent, largestState, visited: run.visited };
  }
  /** As many lean updates as fit the workflow's command, each with a name. */
  function leanCustomers(count: number): Array<{ id: string; name: string }> {
    const updates = customers(count).map(({ id }, index) => ({ id, name: `C${index}` }));
    return updates;
  }

  it("costs no request the second time for the same 5,000 customers, and then sends only the 300 changed, 100 a request", async () => {
    const body = leanCustomers(5_000);
    const first = await execute({ body });
    expect(first).toMatchObject({ detailType: COMPLETED_DETAIL_TYPE, detail: { items: 5_000, applied: 5_000, unchanged: 0 } });
    expect(first.sent).toHaveLength(50);

    const second = await execute({ body });
    expect(second.detail).toMatchObject({ items: 5_000, applied: 0, failed: 0, inDoubt: 0, unsent: 0, unchanged: 5_000, bulkIds: [] });
    expect(second.sent).toHaveLength(0);

    const changed = new Set(spread(300, 5_000, 11));
    const renamed = body.map((update, index) => (changed.has(index) ? { ...update, name: `Renamed ${index}` } : update));
    const third = await execute({ body: renamed });
    expect(third.detail).toMatchObject({ items: 5_000, applied: 300, unchanged: 4_700 });
    expect(third.sent.map((request) => request.length)).toEqual([100, 100, 100]);
    for (const item of third.sent.flat()) expect(Object.keys(item).sort()).toEqual(["_clientRef", "id", "name"]);
    // The state carries a bitmap of what was sent, never the customers.
    expect(third.largestState).toBeLessThan(20_000);

    expect((await execute({ body: renamed })).sent).toHaveLength(0);
  }, 120_000);

  it("resubmits after a retryable failure only the requests of the changed customers that Kustomer did not accept", async () => {
    const body = leanCustomers(1_000);
    await execute({ body });
    const changed = spread(300, 1_000, 5).sort((a, b) => a - b);
    const renamed = body.map((update, index) => (changed.includes(index) ? { ...update, name: `Renamed ${index}` } : update));
    // The second request of the changed customers fails both of its attempts.
    const second = renamed[changed[100] as number]!.id;
    world.kustomer.inject({
      method: "PUT",
      match: (request) => (request.body as Array<{ id: string }>).some((item) => item.id === second),
      times: 2,
      fault: { status: 503 },
    });

    const { detail, sent, visited } = await execute({ body: renamed });

    expect(visited.filter((state) => state === "Resubmit")).toHaveLength(1);
    expect(detail).toMatchObject({ items: 1_000, applied: 300, failed: 0, inDoubt: 0, unsent: 0, unchanged: 700 });
    // Three requests, the refused one twice more: only the changed customers, each once accepted.
    expect(sent.map((request) => request.length)).toEqual([100, 100, 100, 100, 100]);
    const accepted = new Set(sent.flat().map(({ id }) => id));
    expect([...accepted].sort()).toEqual(changed.map((index) => renamed[index]!.id).sort());
    expect((await execute({ body: renamed })).sent).toHaveLength(0);
  });

  it("sends a changed custom attribute alone; fullResync sends everything; ids mode is always sent", async () => {
    const updates = customers(5);
    await execute({ body: updates });
    const changed = updates.map((update, index) => (index === 2 ? { ...update, custom: { ...update.custom, ordersNum: 999 } } : update));

    expect((await execute({ body: changed })).sent).toEqual([
      [{ id: updates[2]!.id, custom: { ordersNum: 999 }, _clientRef: updates[2]!.id }],
    ]);
    const full = await execute({ body: changed, fullResync: true });
    expect(full.detail).toMatchObject({ items: 5, applied: 5, unchanged: 0 });
    expect(full.sent.flat()).toEqual(changed.map((update) => ({ ...update, _clientRef: update.id })));
    const ids = updates.map(({ id }) => id);
    const shared = await execute({ ids, body: [{ id: ids[0], tags: ["vip"] }] });
    expect(shared.sent).toHaveLength(1);
  });

  it("leaves a customer another run sent meanwhile to that run: the other value stands, and the old tags go out again", async () => {
    const [ada] = customers(1) as [Update];
    await execute({ body: [ada] });
    let interleaved = false;
    // The workflow sends the name; before it reads its operation, a direct call sends new tags and reads them applied.
    const run = await execute({ body: [{ ...ada, name: "Grace" }] }, async (state) => {
      if (state !== "CheckStatus" || interleaved) return;
      interleaved = true;
      const other = (await world.serviceHandler({ body: [{ ...ada, name: "Grace", tags: ["t2"] }] }, lambdaContext())) as SubmitResult;
      world.advance(2_000);
      await world.serviceHandler({ action: "status", bulkIds: other.operations.map(({ bulkId }) => bulkId) }, lambdaContext());
    });
    expect(run.detail).toMatchObject({ applied: 1 });

    // Kustomer holds tags t2: the old tags must go out again.
    const back = await execute({ body: [{ ...ada, name: "Grace" }] });
    expect(back.sent).toEqual([[{ id: ada.id, tags: ada.tags, _clientRef: ada.id }]]);
  });

  it("does not record again on a resubmission what the first attempt had accepted: a customer another run sent since goes out again", async () => {
    const body = leanCustomers(200);
    await execute({ body });
    const renamed = body.map((update) => ({ ...update, name: `${update.name} v2` }));
    const ada = renamed[0] as { id: string; name: string };
    // The first attempt's second request fails both of its attempts; its first is accepted.
    const second = renamed[150]?.id;
    world.kustomer.inject({
      method: "PUT",
      match: (request) => (request.body as Array<{ id: string }>).some((item) => item.id === second),
      times: 2,
      fault: { status: 503 },
    });
    let interleaved = false;
    const run = await execute({ body: renamed }, async (state) => {
      if (state !== "Resubmit" || interleaved) return;
      interleaved = true;
      // Before the resubmission, another run sends Ada a third name, which nobody reads back.
      await world.serviceHandler({ body: [{ ...ada, name: "Ada v3" }] }, lambdaContext());
    });
    expect(run.visited.filter((state) => state === "Resubmit")).toHaveLength(1);
    expect(run.detail).toMatchObject({ items: 200, applied: 200 });

    // Kustomer may hold either name: the workflow's must go out again, never be taken as current.
    const back = await execute({ body: [ada] });
    expect(back.sent).toEqual([[{ id: ada.id, name: ada.name, _clientRef: ada.id }]]);
  });

  it("shows in a dry run what would be sent, per customer and field, and sends nothing", async () => {
    const updates = customers(3);
    await execute({ body: updates });
    const changed = [updates[0], { ...updates[1]!, name: "Grace", tags: ["new"] }, updates[2]];

    const result = (await world.serviceHandler({ body: changed, dryRun: true }, lambdaContext())) as SubmitResult;

    expect(result).toEqual({
      status: "dryRun",
      items: 3,
      unchanged: 2,
      operations: [{ bulkId: null, status: "planned", items: 1, customerIds: [updates[1]!.id], fields: [["name", "tags"]] }],
    });
  });
});

describe("a direct call with the changes table", () => {
  it("leaves no record for a customer never recorded whose send is in doubt: nothing to drop, and nothing that would never expire", async () => {
    const [ada] = customers(1) as [Update];
    world.kustomer.inject({ method: "PUT", times: 10, fault: { hang: true } });
    const result = (await world.serviceHandler({ body: [ada] }, lambdaContext(3_000))) as SubmitResult;
    expect(result.inDoubtCustomerIds).toEqual([ada.id]);
    const client = new DynamoDBClient({ endpoint: world.dynamodb.url, region: "us-east-1" });
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { id: { S: `customer#${ada.id}` } } }));
    client.destroy();
    expect(Item).toBeUndefined();
  });

  it("sends only what changed, and counts as current only what a final status read found applied", async () => {
    const updates = customers(150);
    const invoke = async (request: unknown) => (await world.serviceHandler(request, lambdaContext())) as Record<string, any>;
    const first = (await invoke({ body: updates })) as SubmitResult;
    expect(first).toMatchObject({ status: "submitted", items: 150, unchanged: 0 });

    // Not read yet: nothing is current, so the same command goes out again, whole.
    const puts = world.kustomer.bulkPuts.length;
    const again = (await invoke({ body: updates })) as SubmitResult;
    expect(world.kustomer.bulkPuts.length - puts).toBe(2);
    world.advance(2_000);

    const status = await invoke({ action: "status", bulkIds: again.operations.map(({ bulkId }) => bulkId) });
    expect(status).toMatchObject({ allComplete: true, applied: 150 });
    const third = (await invoke({ body: updates })) as SubmitResult;
    expect(third).toEqual({ status: "submitted", items: 150, unchanged: 150, operations: [] });
    expect(world.kustomer.bulkPuts.length - puts).toBe(2);
  });
});

describe("the job state machine with the changes table", () => {
  /** One run of the synthesized job machine on `body`: its report, the bodies it sent, and the run. */
  async function runOnce(body: Array<Record<string, unknown>>, key = "jobs/resync.jsonl") {
    const { handler: jobHandler } = await import("../lambda/job-handler.ts");
    world.s3.objects.clear();
    const text = `${body.map((update) => JSON.stringify(update)).join("\n")}\n`;
    world.s3.put(LOCAL_NAMES.bucket, key, text);
    const puts = world.kustomer.bulkPuts.length;
    const run = await runJobMachine({
      stack: jobStack({ sendOnlyChanges: true }),
      event: objectCreated(key, Buffer.byteLength(text)),
      handler: jobHandler,
      lambdaContext: () => lambdaContext(900_000),
      beforeTask: () => world.advance(1_000),
    });
    expect(run.error).toBeUndefined();
    const reportKey = [...world.s3.objects.keys()].find((key) => key.endsWith("/report.json")) as string;
    const report = JSON.parse(world.s3.objects.get(reportKey)?.toString("utf8") ?? "{}");
    return { report, run, sent: world.kustomer.bulkPuts.slice(puts).map((put) => put.body as Array<Record<string, unknown>>) };
  }

  it("runs a file from its S3 event through the synthesized machine: again, it sends nothing; changed, only the changes; under jobs/full-resync/, everything", async () => {
    const updates = customers(1_000);
    const changed = new Set(spread(40, 1_000, 3));
    expect((await runOnce(updates)).report).toMatchObject({ lines: 1_000, sent: 1_000, applied: 1_000, unchanged: 0 });
    const second = await runOnce(updates);
    expect(second.report).toMatchObject({ lines: 1_000, sent: 0, applied: 0, unchanged: 1_000, failures: [] });
    expect(second.sent).toHaveLength(0);
    const third = await runOnce(updates.map((update, index) => (changed.has(index) ? { ...update, tags: ["changed"] } : update)));
    expect(third.report).toMatchObject({ lines: 1_000, sent: 40, applied: 40, unchanged: 960 });
    expect(third.sent.map((request) => request.length)).toEqual([40]);
    for (const item of third.sent.flat()) expect(Object.keys(item).sort()).toEqual(["_clientRef", "id", "tags"]);

    // A file under jobs/full-resync/ is sent whole.
    const full = await runOnce(updates, "jobs/full-resync/resync.jsonl");
    expect(full.report).toMatchObject({ lines: 1_000, sent: 1_000, applied: 1_000, unchanged: 0 });
  }, 120_000);

  it("sends whole a line whose changed fields' names run past 1,000 characters, so each batch's Map item stays within 256 KiB", async () => {
    // 100 customers with 200 long-named custom attributes each: every name changed is ~9 KB a line.
    const names = Array.from({ length: 200 }, (_, index) => `attribute${index}${"x".repeat(30)}Str`);
    const custom = (value: string) => Object.fromEntries(names.map((name) => [name, value]));
    const updates = customers(100).map(({ id }) => ({ id, custom: custom("one") }));
    await runOnce(updates);
    const { report, run, sent } = await runOnce(updates.map((update) => ({ ...update, custom: custom("two") })));
    expect(report).toMatchObject({ lines: 100, sent: 100, applied: 100 });
    expect(sent.flat().every((item) => Object.keys(item.custom as object).length === 200)).toBe(true);
    expect(run.mapRuns[0]?.largestChildInput).toBeLessThan(256 * 1024);
  }, 120_000);
});
