// `npm start`: the function behind a local API Gateway on 127.0.0.1:3000 (PORT), with the embedded
// Kustomer sandbox next to it unless KUSTOMER_BASE_URL is set.
import { fail, loadQuietHandler, prepareLocalEnvironment } from "./environment.ts";
import { startGateway } from "./gateway.ts";
import { SANDBOX_API_KEY, SEED_CUSTOMERS } from "./kustomer-sandbox.ts";

// As on AWS: the function's one JSON summary line per request, beside the gateway's one-line log.
const handler = await loadQuietHandler("INFO");

const port = Number(process.env.PORT ?? 3000);
const sandboxPort = Number(process.env.SANDBOX_PORT ?? port + 1);
const time = () => new Date().toISOString().slice(11, 19);

/** A port in use is a person's problem to solve, not a stack trace to read. */
async function orExplain<T>(what: string, portInUse: number, variable: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
      fail(
        `npm start: port ${portInUse} (${what}) is in use; choose another with ${variable}=<port>, e.g. ${variable}=${portInUse + 10} npm start`,
      );
    }
    throw error;
  }
}

const environment = await orExplain("the Kustomer sandbox", sandboxPort, "SANDBOX_PORT", () =>
  prepareLocalEnvironment({
    sandboxPort,
    onSandboxRequest: ({ method, path, status, ms }) =>
      console.log(`${time()}   kustomer ${method} ${path.split("?")[0]} -> ${status} (${ms} ms)`),
  }),
);
const { url, server } = await orExplain("the API", port, "PORT", () =>
  startGateway(
    { handler, onRequest: ({ method, path, status, ms }) => console.log(`${time()} ${method} ${path} -> ${status} (${ms} ms)`) },
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

const stop = async () => {
  server.close();
  await environment.stop();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
