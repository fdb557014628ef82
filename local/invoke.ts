// `npm run invoke -- <event.json>`: runs the handler once on an event file (EventBridge event, Step
// Functions payload, API Gateway event, SQS batch, Distributed Map batch) against the sandbox or
// KUSTOMER_BASE_URL, and prints the result. An SQS batch starts the workflow locally, as on AWS: each
// run's outcome event is printed to stderr. `npm run invoke -- status <bulkId>...` reads statuses.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { FUNCTION_TIMEOUT_MS, fail, loadQuietHandler, prepareLocalEnvironment } from "./environment.ts";
import { lambdaContext } from "./gateway.ts";
import { SANDBOX_API_KEY } from "./kustomer-sandbox.ts";
import { SEED_CUSTOMERS } from "./sandbox-records.ts";
import type { LocalWorkflow } from "./workflow.ts";

const USAGE = "usage: npm run invoke -- <event.json>   (samples in events/)\n       npm run invoke -- status <bulkId> [<bulkId>...]";

async function eventFrom(args: string[]): Promise<unknown> {
  const [first, ...rest] = args;
  if (!first) fail(USAGE, 2);
  if (first === "status") {
    if (rest.length === 0) fail(USAGE, 2);
    return { action: "status", bulkIds: rest };
  }
  let text: string;
  try {
    text = await readFile(first, "utf8");
  } catch (error) {
    fail(`npm run invoke: cannot read ${first} (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`, 2);
  }
  try {
    return JSON.parse(text);
  } catch {
    fail(`npm run invoke: ${first} is not valid JSON`, 2);
  }
}

const isSqsBatch = (value: unknown) =>
  Array.isArray((value as { Records?: unknown })?.Records) &&
  (value as { Records: Array<{ eventSource?: unknown }> }).Records.every((record) => record?.eventSource === "aws:sqs");

/**
 * A status read means the bulk ids `npm start` returned: its Kustomer sandbox knows them, a fresh one
 * does not. Use the running one when it answers; else say what a fresh sandbox can tell.
 */
async function useRunningSandbox(): Promise<void> {
  if (process.env.KUSTOMER_BASE_URL) return;
  const port = Number(process.env.SANDBOX_PORT || Number(process.env.PORT || 3000) + 1);
  const url = `http://127.0.0.1:${port}`;
  try {
    const answer = await fetch(`${url}/v1/customers/${SEED_CUSTOMERS[0]?.id}`, {
      headers: { authorization: `Bearer ${SANDBOX_API_KEY}` },
      signal: AbortSignal.timeout(500),
    });
    if (answer.ok) {
      process.env.KUSTOMER_BASE_URL = url;
      console.error(`npm run invoke: reading from the Kustomer sandbox of the running npm start (${url})`);
      return;
    }
  } catch {
    // Nothing answers there: a fresh sandbox it is.
  }
  console.error(
    `npm run invoke: no npm start is running (no Kustomer sandbox on ${url}), so a fresh sandbox answers, and it knows no bulk ids: start npm start first (or set SANDBOX_PORT, or KUSTOMER_BASE_URL)`,
  );
}

const event = await eventFrom(process.argv.slice(2));
if ((event as { action?: unknown }).action === "status") await useRunningSandbox();
const handler = await loadQuietHandler();
const environment = await prepareLocalEnvironment({ sandboxPort: 0 });
let workflow: LocalWorkflow | undefined;
let exitCode = 0;
try {
  if (isSqsBatch(event)) {
    // Loaded after the handler, which must configure its logger first; and only for a batch.
    const { startLocalWorkflow } = await import("./workflow.ts");
    workflow = await startLocalWorkflow(handler, ({ detailType, detail }) => console.error(`${detailType}: ${JSON.stringify(detail)}`));
  }
  console.log(JSON.stringify(await handler(event, lambdaContext(randomUUID(), FUNCTION_TIMEOUT_MS)), null, 2));
  await workflow?.settled();
} catch (error) {
  // What Step Functions or EventBridge would see: the error's name and message.
  const { name, message } = error as Error;
  console.log(JSON.stringify({ errorType: name, errorMessage: message }, null, 2));
  exitCode = 1;
} finally {
  await workflow?.stop();
  await environment.stop();
}
process.exit(exitCode);
