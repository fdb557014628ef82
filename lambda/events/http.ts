// API Gateway REST (payload 1.0), HTTP API and function URLs (payload 2.0): routes, query, base64 and
// JSON bodies in; JSON responses out, with the contract's status codes for results and errors.
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, APIGatewayProxyResult } from "aws-lambda";
import { contractErrorOf, IdempotencyConflictError, NotFoundError, ValidationError, validationErrorOf } from "../contract/errors.ts";
import { KustomerRateLimitError, KustomerRequestError } from "../contract/kustomer-errors.ts";
import { NOT_FOUND } from "../contract/names.ts";
import type { KustomerObject } from "../contract/objects/kustomer-object.ts";
import { namedObject } from "../contract/objects/registry.ts";
import { BULK_ID, BULK_ID_MESSAGE } from "../contract/requests.ts";

import { API_GATEWAY_TIMEOUT_MS, decodePathSegment, HTTP_ROUTES } from "../contract/routes.ts";
import type { RequestResult } from "../core/process-request.ts";
import { isObject, type TriggerAdapter } from "./adapter.ts";
import { callerOf } from "./http-caller.ts";

type HttpEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

// Matched at the end of the path, so a stage or base-path prefix does not matter.
const SUBMIT_ROUTES = HTTP_ROUTES.flatMap(({ resource, query, object }) =>
  object ? [{ path: new RegExp(`(?:^|/)${resource.slice(1)}/?$`), query: new Set(query), object }] : [],
);
const STATUS_ROUTE = /(?:^|\/)bulk\/([^/]+)\/?$/;
const ROUTES = HTTP_ROUTES.map(({ method, resource }) => `${method} ${resource}`);
const ROUTE_LIST = `${ROUTES.slice(0, -1).join(", ")} and ${ROUTES.at(-1)}`;

function methodOf(event: HttpEvent): string {
  return "httpMethod" in event ? event.httpMethod : event.requestContext.http.method;
}

function pathOf(event: HttpEvent): string {
  return "rawPath" in event ? event.rawPath : event.path;
}

/** Repeated parameters arrive as a list (1.0) or comma-joined (2.0); both become "a,b". */
function queryOf(event: HttpEvent): Record<string, string> {
  const multi = "multiValueQueryStringParameters" in event ? event.multiValueQueryStringParameters : null;
  if (multi) return Object.fromEntries(Object.entries(multi).map(([name, values]) => [name, (values ?? []).join(",")]));
  return Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).map(([name, value]) => [name, value ?? ""]));
}

function headerOf(event: HttpEvent, name: string): string | undefined {
  const entry = Object.entries(event.headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1] ?? undefined;
}

const JSON_MEDIA_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;
/** Lambda's limit for a synchronous invocation's payload: a larger body cannot be a valid request. */
export const MAX_BODY_BYTES = 6 * 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bodyOf(event: HttpEvent, object: KustomerObject): unknown {
  // JSON only, declared as such: a form post or a missing type is refused before the body is read.
  if (!JSON_MEDIA_TYPE.test(headerOf(event, "content-type") ?? "")) {
    throw validationErrorOf([{ path: "body", message: "Content-Type must be application/json (or application/*+json)" }], 415);
  }
  if (!event.body) throw validationErrorOf([{ path: "body", message: `is required: a JSON array of ${object.name} updates` }]);
  // Base64 takes 4 characters for 3 bytes; either way, measure what the body will decode to.
  const bytes = event.isBase64Encoded ? Math.floor((event.body.length * 3) / 4) : Buffer.byteLength(event.body);
  if (bytes > MAX_BODY_BYTES) {
    throw validationErrorOf([{ path: "body", message: `is ${bytes} bytes; at most ${MAX_BODY_BYTES} (6 MB)` }], 413);
  }
  let text = event.body;
  if (event.isBase64Encoded) {
    const compact = text.replace(/\s+/g, "");
    if (!BASE64.test(compact)) throw validationErrorOf([{ path: "body", message: "is flagged base64 but is not valid base64" }]);
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(compact, "base64"));
    } catch {
      throw validationErrorOf([{ path: "body", message: "is not valid UTF-8" }]);
    }
  }
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse quotes the input in its message, and the input holds personal data.
    throw validationErrorOf([{ path: "body", message: "is not valid JSON" }]);
  }
}

function routeNotFound(method: string): ValidationError {
  return validationErrorOf([{ path: "", message: `no route for ${method} on this path; routes are ${ROUTE_LIST}` }], 404);
}

function toRequest(raw: unknown): unknown {
  const event = raw as HttpEvent;
  const method = methodOf(event).toUpperCase();
  const path = pathOf(event);

  const statusMatch = STATUS_ROUTE.exec(path);
  if (statusMatch) {
    if (method !== "GET") throw routeNotFound(method);
    const bulkId = event.pathParameters?.bulkId ?? decodePathSegment(statusMatch[1] as string);
    // Named as the caller wrote it: the path segment, not the command's bulkIds[0].
    if (!BULK_ID.test(bulkId)) throw validationErrorOf([{ path: "bulkId", message: BULK_ID_MESSAGE }]);
    return { action: "status", bulkIds: [bulkId] };
  }
  const route = SUBMIT_ROUTES.find((candidate) => candidate.path.test(path));
  if (!route || method !== "PUT") throw routeNotFound(method);

  const query = queryOf(event);
  const unknown = Object.keys(query).filter((name) => !route.query.has(name));
  if (unknown.length > 0) {
    // A typo such as dryrun=true must not turn a dry run into a real update.
    throw validationErrorOf(unknown.map((name) => ({ path: name, message: "is not a query parameter; use ids, dryRun or fullResync" })));
  }
  const request: Record<string, unknown> = { ...namedObject(route.object), body: bodyOf(event, route.object) };
  if (query.ids !== undefined) request.ids = query.ids;
  for (const flag of ["dryRun", "fullResync"] as const) {
    const value = query[flag];
    if (value !== undefined) request[flag] = value === "true" ? true : value === "false" ? false : value;
  }
  return request;
}

/** Stripe's and the IETF draft's convention: an optional header naming the request, printable, at most 255. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(raw: unknown): string | undefined {
  const value = headerOf(raw as HttpEvent, "idempotency-key");
  if (value === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(value))
    throw validationErrorOf([{ path: "Idempotency-Key", message: "must be 1 to 255 printable characters, without spaces" }]);
  return `http:${value}`;
}

/** A JSON answer, newline-terminated like any text a terminal prints. */
function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyResult {
  return { statusCode, headers: { "content-type": "application/json", ...headers }, body: `${JSON.stringify(body)}\n` };
}

export function toHttpResponse({ kind, result }: RequestResult): APIGatewayProxyResult {
  // GET /bulk/{bulkId} reads one operation: one Kustomer does not know is a 404, not a status.
  if (kind === "status" && result.operations.length === 1 && result.operations[0]?.status === NOT_FOUND) {
    return toHttpErrorResponse(new NotFoundError(`Kustomer knows no bulk operation ${result.operations[0].bulkId}`));
  }
  return json(kind === "submitted" ? 202 : 200, result);
}

export function toHttpErrorResponse(failure: unknown): APIGatewayProxyResult {
  const error = contractErrorOf(failure);
  const body: Record<string, unknown> = { name: error.name, message: error.message };
  if (error instanceof ValidationError && error.issues.length > 0)
    Object.assign(body, { issues: error.issues, issueCount: error.issueCount });
  if (error instanceof KustomerRequestError) body.kustomer = { status: error.kustomerStatus, errors: error.details };
  if (error.progress) {
    const { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds } = error.progress;
    Object.assign(body, { acceptedBulkIds, inDoubtCustomerIds, unsentCustomerIds });
  }
  const retryAfter =
    error instanceof KustomerRateLimitError || error instanceof IdempotencyConflictError ? error.retryAfterSeconds : undefined;
  const headers: Record<string, string> = retryAfter === undefined ? {} : { "retry-after": String(retryAfter) };
  return json(error.httpStatus, { error: body }, headers);
}

export const httpAdapter: TriggerAdapter<APIGatewayProxyResult> = {
  trigger: "http",
  // Past it the caller has a 504 and would send again: a later submit would then be a second one.
  callerWaitsMs: API_GATEWAY_TIMEOUT_MS,
  matches: (event) =>
    isObject(event) &&
    (typeof event.httpMethod === "string" ||
      (isObject(event.requestContext) && isObject(event.requestContext.http) && typeof event.requestContext.http.method === "string")),
  // The routes make the request: PUT a command, GET a status read.
  accepts: ["command", "status"],
  toRequest,
  idempotencyKey,
  callerOf,
  toResponse: toHttpResponse,
  onError: toHttpErrorResponse,
};
