// A thousand warm invocations in one execution environment, one in ten meeting a fault: nothing is
// lost, memory and sockets stay flat, and the secret is fetched once per TTL.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Fault } from "../local/sandbox-faults.ts";
import { customerUpdates } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const INVOCATIONS = 1_000;
const ITEMS = 150;
const faults: Array<{ times: number; fault: Fault }> = [
  { times: 1, fault: { status: 500 } },
  { times: 1, fault: { reset: true } },
  { times: 1, fault: { status: 429, headers: { "retry-after": "0" } } },
  { times: 5, fault: { status: 503 } },
  { times: 1, fault: { status: 400 } },
];

let world: World;
beforeAll(async () => {
  world = await startWorld({ KUSTOMER_MAX_ATTEMPTS: "2", SECRET_TTL_SECONDS: "1" });
});
afterAll(() => world.stop());

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const sockets = () => process.getActiveResourcesInfo().filter((resource) => resource === "TCPSocketWrap").length;

it(`loses nothing over ${INVOCATIONS} invocations with 10% faults, with flat memory and sockets`, async () => {
  const ids = customerUpdates(ITEMS)
    .map((update) => update.id)
    .sort();
  let random = 42;
  const next = () => (random = (random * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const started = Date.now();
  let heapAfterWarmUp = 0;
  let socketsAfterWarmUp = 0;
  let failures = 0;

  for (let invocation = 0; invocation < INVOCATIONS; invocation += 1) {
    // The sandbox and the harness keep what they saw; only the function's own memory is measured.
    world.kustomer.reset();
    world.kustomer.operations.clear();
    world.logs.length = 0;
    if (next() < 0.1)
      world.kustomer.inject({ path: /customers\/bulk/, ...(faults[Math.floor(next() * faults.length)] as (typeof faults)[number]) });
    const outcome = await world.handler({ body: customerUpdates(ITEMS) }, lambdaContext(10_000)).catch((error: unknown) => error);
    const created = [...world.kustomer.operations.keys()];

    if (outcome instanceof Error) {
      failures += 1;
      const progress = (outcome as { progress?: { acceptedBulkIds: string[]; unsentCustomerIds: string[] } }).progress;
      const accepted = (progress?.acceptedBulkIds ?? []).flatMap((bulkId) => world.kustomer.operations.get(bulkId)?.customerIds ?? []);
      // Every operation Kustomer created is reported as accepted; everything else as unsent.
      expect((progress?.acceptedBulkIds ?? []).sort()).toEqual(created.sort());
      expect([...accepted, ...(progress?.unsentCustomerIds ?? ids)].sort()).toEqual(ids);
    } else {
      const { operations } = outcome as { operations: Array<{ bulkId: string; customerIds: string[] }> };
      expect(operations.map((operation) => operation.bulkId).sort()).toEqual(created.sort());
      expect(operations.flatMap((operation) => operation.customerIds).sort()).toEqual(ids);
    }
    if (invocation === 99) {
      heapAfterWarmUp = heapMb();
      socketsAfterWarmUp = sockets();
    }
  }

  const seconds = (Date.now() - started) / 1000;
  expect(failures).toBeGreaterThan(0);
  expect(heapMb() - heapAfterWarmUp).toBeLessThan(10);
  expect(sockets()).toBeLessThanOrEqual(socketsAfterWarmUp + 2);
  expect(world.kustomer.openConnections).toBeLessThanOrEqual(8);
  // One Secrets Manager call per TTL (1 s), give or take the first and the last.
  expect(world.secrets.calls).toBeLessThanOrEqual(Math.ceil(seconds) + 2);
  expect(world.secrets.calls).toBeGreaterThanOrEqual(1);
}, 180_000);
