// An HTTP caller waits 29 s (API Gateway's limit), however long the invocation may run: past that it
// has a 504 and sends again, so a wait for the org's budget must end in an answer before then.
// A world of its own: the spent budget it sets up would hold back every other test for 40 s.
import { afterAll, beforeAll, expect, it } from "vitest";
import { customerUpdates, httpApiEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorld, type World } from "./support/harness.ts";

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(() => world.stop());

const put = (remainingMs: number) =>
  world.http(httpApiEvent({ method: "PUT", path: "/customers/bulk", body: customerUpdates(2) }), lambdaContext(remainingMs));

it("answers 429 with Retry-After at once rather than wait past 29 s for the budget, with minutes of invocation left", async () => {
  const resetAt = Math.ceil(Date.now() / 1000) + 40;
  world.kustomer.inject({
    fault: {
      status: 201,
      headers: { "x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(resetAt) },
      body: { data: { id: "b-1" } },
    },
  });
  expect((await put(300_000)).statusCode).toBe(202);
  const started = Date.now();
  const limited = await put(300_000);
  expect(limited.statusCode).toBe(429);
  expect(Number(limited.headers["retry-after"])).toBeGreaterThan(30);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(world.kustomer.bulkPuts).toHaveLength(1);
});
