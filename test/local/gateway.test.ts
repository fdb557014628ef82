import { afterAll, beforeAll, expect, it } from "vitest";
import { startGateway } from "../../local/gateway.ts";
import type { Server } from "node:http";

let url: string;
let server: Server;
const seen: any[] = [];

beforeAll(async () => {
  ({ url, server } = await startGateway({
    handler: async (event: any) => {
      seen.push(event);
      if (event.rawPath === "/crash") throw new Error("boom: secret detail");
      return { statusCode: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' };
    },
  }));
});
afterAll(() => server.close());

it("turns a request into an API Gateway payload 2.0 event with a Lambda-like context", async () => {
  await fetch(`${url}/customers/bulk?ids=a&ids=b&dryRun=true`, { method: "PUT", headers: { "content-type": "application/json" }, body: "[1]" });
  expect(seen.at(-1)).toMatchObject({
    version: "2.0",
    routeKey: "$default",
    rawPath: "/customers/bulk",
    rawQueryString: "ids=a&ids=b&dryRun=true",
    queryStringParameters: { ids: "a,b", dryRun: "true" },
    headers: { "content-type": "application/json" },
    requestContext: { http: { method: "PUT", path: "/customers/bulk" }, stage: "$default" },
    body: "[1]",
    isBase64Encoded: false,
  });
});

it("base64-encodes a body that is not text, as API Gateway does", async () => {
  await fetch(`${url}/customers/bulk`, { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: Buffer.from([1, 2, 255]) });
  expect(seen.at(-1)).toMatchObject({ body: Buffer.from([1, 2, 255]).toString("base64"), isBase64Encoded: true });
});

it("answers a crashed handler with API Gateway's bare 502", async () => {
  const response = await fetch(`${url}/crash`);
  expect(response.status).toBe(502);
  expect(await response.text()).toBe('{"message":"Internal server error"}');
});
