// `npm run invoke -- <event.json>`: runs the handler once on an event file (EventBridge event, Step
// Functions payload, API Gateway event) against the sandbox or KUSTOMER_BASE_URL, and prints the result.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { prepareLocalEnvironment, quietPowertools } from "./environment.ts";
import { lambdaContext } from "./gateway.ts";

/** The stack's function timeout, so a local run has the time a deployed one has. */
const FUNCTION_TIMEOUT_MS = 300_000;

const file = process.argv[2];
if (!file) {
  console.error("usage: npm run invoke -- <event.json>   (samples in events/)");
  process.exit(2);
}
quietPowertools();
const { handler } = await import("../lambda/handler.ts");
const event = JSON.parse(await readFile(file, "utf8"));
const environment = await prepareLocalEnvironment({ sandboxPort: 0 });
let exitCode = 0;
try {
  console.log(JSON.stringify(await handler(event, lambdaContext(randomUUID(), FUNCTION_TIMEOUT_MS)), null, 2));
} catch (error) {
  // What Step Functions or EventBridge would see: the error's name and message.
  const { name, message } = error as Error;
  console.log(JSON.stringify({ errorType: name, errorMessage: message }, null, 2));
  exitCode = 1;
} finally {
  await environment.stop();
}
process.exit(exitCode);
