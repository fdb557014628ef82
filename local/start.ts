// `npm start`: the function behind a local API Gateway on 127.0.0.1:3000 (PORT), with the embedded
// Kustomer sandbox next to it unless KUSTOMER_BASE_URL is set.
import { loadConfig } from "../lambda/platform/config.ts";
import { fail, loadQuietHandler, prepareLocalEnvironment } from "./environment.ts";
import { startGateway } from "./gateway.ts";
import { SANDBOX_API_KEY } from "./kustomer-sandbox.ts";
import { SEED_CUSTOMERS } from "./sandbox-records.ts";

// One compact line per request; the function's JSON log lines (as on AWS) with POWERTOOLS_LOG_LEVEL=INFO.
const handler = await loadQuietHandler("WARN");

/** A port from the environment, or one line that says what is wrong with it. */
function portFrom(variable: string, fallback: number): number {
  const text = process.env[variable];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65_535)
    fail(`npm start: ${variable} must be a port number from 1 to 65535, not ${JSON.stringify(text)}`);
  return value;
}

const port = portFrom("PORT", 3000);
const sandboxPort = portFrom("SANDBOX_PORT", port + 1);
const time = () => new Date().toISOString().slice(11, 19);

/**
 * A port in use is a person's problem to solve, not a stack trace to read. Both ports are named, and
 * the advice moves them together: PORT alone takes the sandbox to PORT+1.
 */
async function orExplain<T>(what: string, portInUse: number, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      fail(
        `npm start: port ${portInUse} (${what}) is in use; npm start needs ${port} (PORT, the API) and ${sandboxPort} (SANDBOX_PORT, the Kustomer sandbox): choose another pair, e.g. PORT=${port + 10} SANDBOX_PORT=${port + 11} npm start`,
      );
    }
    throw error;
  }
}

const environment = await orExplain("the Kustomer sandbox", sandboxPort, () =>
  prepareLocalEnvironment({
    sandboxPort,
    onSandboxRequest: ({ method, path, status, ms }) =>
      console.log(`${time()}   kustomer ${method} ${path.split("?")[0]} -> ${status} (${ms} ms)`),
  }),
);
// The function's configuration, checked now (the sandbox's, or yours): a wrong KUSTOMER_BASE_URL is a
// line at start, not a 500 on every request.
try {
  loadConfig(process.env);
} catch (error) {
  await environment.stop();
  fail(`npm start: ${(error as Error).message}`);
}
const { url, server } = await orExplain("the API", port, () =>
  startGateway(
    {
      handler,
      onRequest: ({ method, path, status, ms, outcome }) =>
        console.log(`${time()} ${method} ${path} -> ${status} (${ms} ms)${outcome ? `: ${outcome}` : ""}`),
    },
    port,
  ),
);

const customer = SEED_CUSTOMERS[0]?.id;
console.log(`kustomer-bulk-update listening on ${url}`);
console.log(
  environment.sandboxUrl
    ? `Kustomer sandbox on ${environment.sandboxUrl} (key ${SANDBOX_API_KEY}, ${SEED_CUSTOMERS.length} customers)`
    : `Kustomer at ${process.env.KUSTOMER_BASE_URL}`,
);
if (environment.dynamodbUrl) {
  console.log(
    `Idempotency on: table ${process.env.IDEMPOTENCY_TABLE_NAME} in an embedded DynamoDB on ${environment.dynamodbUrl}; send a PUT twice with -H 'Idempotency-Key: try-1'`,
  );
}
console.log(`
Try:
  curl -s -X PUT '${url}/customers/bulk' -H 'content-type: application/json' -d '[{"id":"${customer}","tags":["vip"]}]'
  curl -s '${url}/bulk/<bulkId from the answer>'`);
if (environment.sandboxUrl) {
  console.log(`  curl -s -H 'authorization: Bearer ${SANDBOX_API_KEY}' '${environment.sandboxUrl}/v1/customers/${customer}'`);
}
console.log("ready");

/** Ports free before exit, and the exit code a shell expects of a signal: 128 + its number. */
const stop = async (signal: NodeJS.Signals) => {
  server.closeAllConnections();
  server.close();
  await environment.stop();
  process.exit(128 + (signal === "SIGINT" ? 2 : 15));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
// npm does not pass SIGTERM on to the script it started: when npm is gone (an IDE's stop button,
// `kill $!`), this process is handed to another parent, and stops as if it had the signal itself.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stop("SIGTERM");
}, 200).unref();
