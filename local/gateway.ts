// A local stand-in for the stack's API Gateway REST API: a request on one of its routes becomes the
// payload 1.0 proxy event AWS would send, the real handler answers it, and the answer goes back as
// HTTP; what the deployed gateway refuses itself (unknown routes, a crashed integration) it refuses
// with the same JSON. No second code path.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from "aws-lambda";
import { API_GATEWAY_TIMEOUT_MS, API_STAGE, matchRoute } from "../lambda/contract/routes.ts";
import { listen } from "./serve.ts";

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** The body of the stack's gateway responses (infra/stack.ts), for what API Gateway refuses itself. */
export function gatewayErrorBody(responseType: string, message: string): string {
  return `{"error":{"name":"${responseType}","message":${JSON.stringify(message)}}}\n`;
}

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

/** The REST API's Lambda proxy event (payload 1.0). Without binary media types, a body arrives as text. */
export function toRestApiEvent(
  request: IncomingMessage,
  body: Buffer,
  requestId: string,
  route: { resource: string; pathParameters: Record<string, string> },
): APIGatewayProxyEvent {
  const url = new URL(request.url ?? "/", "http://localhost");
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const [name, value] = [request.rawHeaders[index] as string, request.rawHeaders[index + 1] as string];
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  const query: Record<string, string> = {};
  const multiValueQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiValueQuery[name] ??= []).push(value);
  }
  const method = request.method ?? "GET";
  const hasQuery = Object.keys(query).length > 0;
  const hasPathParameters = Object.keys(route.pathParameters).length > 0;
  const now = new Date();
  return {
    resource: route.resource,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: hasPathParameters ? route.pathParameters : null,
    stageVariables: null,
    requestContext: {
      accountId: "000000000000",
      apiId: "local",
      authorizer: undefined,
      domainName: headers.Host ?? headers.host ?? "localhost",
      domainPrefix: "local",
      extendedRequestId: requestId,
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress ?? "127.0.0.1",
        user: null,
        userAgent: headers["user-agent"] ?? headers["User-Agent"] ?? null,
        userArn: null,
      },
      path: `/${API_STAGE}${url.pathname}`,
      protocol: `HTTP/${request.httpVersion}`,
      requestId,
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      resourceId: "local",
      resourcePath: route.resource,
      stage: API_STAGE,
    },
    body: body.length ? body.toString("utf8") : null,
    isBase64Encoded: false,
  };
}

export interface GatewayOptions {
  handler: Handler;
  timeoutMs?: number;
  onRequest?: (line: { method: string; path: string; status: number; ms: number; outcome: string }) => void;
}

export async function startGateway(options: GatewayOptions, port = 0, host = "127.0.0.1"): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const requestId = randomUUID();
      let result: APIGatewayProxyResult;
      const route = matchRoute(request.method ?? "GET", new URL(request.url ?? "/", "http://localhost").pathname);
      if (!route) {
        // API Gateway's answer to a method or path the API does not define, whatever the caller's rights.
        result = {
          statusCode: 403,
          headers: { "content-type": "application/json" },
          body: gatewayErrorBody("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"),
        };
      } else {
        try {
          const event = toRestApiEvent(request, Buffer.concat(chunks), requestId, {
            resource: route.route.resource,
            pathParameters: route.pathParameters,
          });
          result = (await options.handler(
            event,
            lambdaContext(requestId, options.timeoutMs ?? API_GATEWAY_TIMEOUT_MS),
          )) as APIGatewayProxyResult;
        } catch {
          // API Gateway answers a crashed integration without details.
          result = {
            statusCode: 502,
            headers: { "content-type": "application/json" },
            body: gatewayErrorBody("INTEGRATION_FAILURE", "Internal server error"),
          };
        }
      }
      const body = result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body;
      response.writeHead(result.statusCode, { ...(result.headers as Record<string, string>), "x-amzn-requestid": requestId }).end(body);
      options.onRequest?.({
        method: request.method ?? "GET",
        path: request.url ?? "/",
        status: result.statusCode,
        ms: Date.now() - started,
        outcome: outcomeOf(String(body)),
      });
    });
  });
  await listen(server, port, host);
  return { url: `http://${host}:${(server.address() as AddressInfo).port}`, server };
}

/** What an answer says, in a few words for the local log: counts and names, never a customer. */
function outcomeOf(body: string): string {
  let answer: Record<string, any>;
  try {
    answer = JSON.parse(body);
  } catch {
    return "";
  }
  if (answer.error) return answer.error.name ?? "";
  if (!Array.isArray(answer.operations)) return "";
  if (typeof answer.allComplete === "boolean") {
    return `${answer.operations.map((operation: { status: string }) => operation.status).join(", ")}${answer.allComplete ? " (all complete)" : ""}`;
  }
  const inDoubt = answer.inDoubtCustomerIds?.length ? `, ${answer.inDoubtCustomerIds.length} in doubt` : "";
  return `${answer.items} items in ${answer.operations.length} requests${inDoubt}`;
}
