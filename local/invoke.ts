// `npm run invoke -- <event.json>`: runs the handler once on an event file (EventBridge event, Step
// Functions payload, API Gateway event) against the sandbox or KUSTOMER_BASE_URL, and prints the result.
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { fileArgument, FUNCTION_TIMEOUT_MS, loadQuietHandler, prepareLocalEnvironment } from "./environment.ts";
import { lambdaContext } from "./gateway.ts";

const file = fileArgument("npm run invoke -- <event.json>   (samples in events/)");
const handler = await loadQuietHandler();
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
