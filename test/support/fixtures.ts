// Test data: customer updates full of personal fields (so leaks are detectable), keys, and the real
// AWS sample envelopes (test/fixtures/aws-sample-events, from aws-lambda-go's test data) with a payload placed inside.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const API_KEY = "kst_test_4f1d9c2b7a6e5d4c3b2a1f0e";
export const ROTATED_API_KEY = "kst_test_rotated_8e7d6c5b4a3f2e1d";
export const SECRET_ID = "kustomer/api-key";

const repositoryRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const sampleEvents = resolve(repositoryRoot, "test/fixtures/aws-sample-events");

export function customerId(n: number): string {
  return `5e4c41c8c9f1${n.toString(16).padStart(12, "0")}`;
}

export function customerUpdate(n: number) {
  return {
    id: customerId(n),
    name: `Ada Lovelace ${n}`,
    emails: [{ email: `ada.${n}@example.com`, type: "work" as const }],
    phones: [{ phone: `+1555010${String(n).padStart(4, "0")}`, type: "mobile" as const }],
    tags: ["vip"],
    custom: { loyaltyTierStr: "gold", ordersNum: n, lastOrderAt: "2024-05-01T12:00:00Z" },
  };
}

/**
 * `count` of the positions below `of`, spread through them, the same for the same seed, so a failure
 * can be replayed. The high bits of an LCG: its low bits repeat with a short period.
 */
export function spread(count: number, of: number, seed: number): number[] {
  const chosen = new Set<number>();
  let state = seed;
  while (chosen.size < count) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    chosen.add(Math.floor((state / 2 ** 31) * of));
  }
  return [...chosen];
}

export function customerUpdates(count: number) {
  return Array.from({ length: count }, (_, index) => customerUpdate(index + 1));
}

/** Personal data and secrets that must never appear in a log line. */
export const SENSITIVE = [API_KEY, ROTATED_API_KEY, /ada\.\d+@example\.com/, /\+1555010\d{4}/, /Ada Lovelace/];

export function sampleEvent(file: string): Record<string, any> {
  return JSON.parse(readFileSync(resolve(sampleEvents, file), "utf8"));
}

interface HttpRequest {
  method: string;
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  base64?: boolean;
  headers?: Record<string, string>;
}

function bodyText(request: HttpRequest): string | null {
  if (request.body === undefined) return null;
  const text = typeof request.body === "string" ? request.body : JSON.stringify(request.body);
  return request.base64 ? Buffer.from(text).toString("base64") : text;
}

/** API Gateway REST API, Lambda proxy integration (payload 1.0). */
export function restApiEvent(request: HttpRequest) {
  const event = sampleEvent("apigw-request.json");
  const query = request.query ?? {};
  const bulkId = /^\/bulk\/([^/]+)$/.exec(request.path)?.[1];
  return {
    ...event,
    resource: bulkId ? "/bulk/{bulkId}" : request.path,
    path: request.path,
    httpMethod: request.method,
    headers: { ...event.headers, ...request.headers },
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(query).length
      ? Object.fromEntries(Object.entries(query).map(([name, value]) => [name, [value]]))
      : null,
    pathParameters: bulkId ? { bulkId } : null,
    requestContext: {
      ...event.requestContext,
      httpMethod: request.method,
      path: `/testStage${request.path}`,
      resourcePath: bulkId ? "/bulk/{bulkId}" : request.path,
    },
    body: bodyText(request),
    isBase64Encoded: request.base64 ?? false,
  };
}

/** HTTP API or function URL (payload 2.0), from the given sample file. */
export function httpApiEvent(request: HttpRequest, file = "apigw-v2-request-iam.json") {
  const event = sampleEvent(file);
  const query = request.query ?? {};
  const rawQueryString = new URLSearchParams(query).toString();
  const bulkId = /^\/bulk\/([^/]+)$/.exec(request.path)?.[1];
  return {
    ...event,
    routeKey: file.startsWith("lambda-urls") ? "$default" : `${request.method} ${bulkId ? "/bulk/{bulkId}" : request.path}`,
    rawPath: request.path,
    rawQueryString,
    headers: { ...event.headers, "content-type": "application/json", ...request.headers },
    queryStringParameters: Object.keys(query).length ? query : undefined,
    pathParameters: bulkId && !file.startsWith("lambda-urls") ? { bulkId } : undefined,
    requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: request.method, path: request.path } },
    body: bodyText(request) ?? undefined,
    isBase64Encoded: request.base64 ?? false,
  };
}

/** An SQS batch (the sample's envelope, one record per body given). */
export function sqsEvent(bodies: string[]) {
  const [template] = sampleEvent("sqs-event.json").Records;
  return { Records: bodies.map((body, index) => ({ ...template, messageId: `message-${index + 1}`, body })) };
}

export function eventBridgeEvent(detail: unknown, detailType = "Customer Bulk Update Requested"): Record<string, any> {
  return { ...sampleEvent("ecr-image-push-event.json"), source: "com.example.crm-sync", "detail-type": detailType, detail };
}
