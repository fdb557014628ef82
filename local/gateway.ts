// A local stand-in for API Gateway: each HTTP request becomes the payload 2.0 event AWS would send,
// the real handler answers it, and the answer goes back as HTTP. No second code path.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEventV2, APIGatewayProxyResult, Context } from "aws-lambda";

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** API Gateway ends an integration at 29 seconds; the local gateway gives the handler the same. */
export const API_GATEWAY_TIMEOUT_MS = 29_000;

const TEXT_BODY = /^(application\/([\w.+-]+\+)?json|text\/)/i;

export function lambdaContext(requestId: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: "kustomer-bulk-update-local",
    functionVersion: "$LATEST",
    invokedFunctionArn: "arn:aws:lambda:local:000000000000:function:kustomer-bulk-update-local",
    memoryLimitInMB: "512",
    awsRequestId: requestId,
    logGroupName: "/aws/lambda/kustomer-bulk-update-local",
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function toHttpApiEvent(request: IncomingMessage, body: Buffer, requestId: string): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  // Like an HTTP API: repeated query parameters are joined with commas.
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const text = TEXT_BODY.test(headers["content-type"] ?? "");
  const method = request.method ?? "GET";
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: Object.keys(query).length ? query : undefined,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      domainName: headers.host ?? "localhost",
      domainPrefix: "local",
      http: { method, path: url.pathname, protocol: `HTTP/${request.httpVersion}`, sourceIp: request.socket.remoteAddress ?? "127.0.0.1", userAgent: headers["user-agent"] ?? "" },
      requestId,
      routeKey: "$default",
      stage: "$default",
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    body: body.length ? body.toString(text ? "utf8" : "base64") : undefined,
    isBase64Encoded: body.length > 0 && !text,
  };
}

export interface GatewayOptions {
  handler: Handler;
  timeoutMs?: number;
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
}

export async function startGateway(options: GatewayOptions, port = 0, host = "127.0.0.1"): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const requestId = randomUUID();
      let result: APIGatewayProxyResult;
      try {
        const event = toHttpApiEvent(request, Buffer.concat(chunks), requestId);
        result = (await options.handler(event, lambdaContext(requestId, options.timeoutMs ?? API_GATEWAY_TIMEOUT_MS))) as APIGatewayProxyResult;
      } catch {
        // API Gateway answers a crashed integration the same way, without details.
        result = { statusCode: 502, headers: { "content-type": "application/json" }, body: '{"message":"Internal server error"}' };
      }
      const body = result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body;
      response.writeHead(result.statusCode, { ...(result.headers as Record<string, string>), "x-amzn-requestid": requestId }).end(body);
      options.onRequest?.({ method: request.method ?? "GET", path: request.url ?? "/", status: result.statusCode, ms: Date.now() - started });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, server };
}
