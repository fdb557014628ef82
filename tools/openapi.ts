// `npm run openapi`: the HTTP API as an OpenAPI 3.1 document, generated from the function's own zod
// schemas (zod 4 emits JSON Schema 2020-12, which OpenAPI 3.1 uses as it is).
import { writeFile } from "node:fs/promises";
import * as z from "zod";
import { MAX_COMMAND_ITEMS } from "../lambda/contract/limits.ts";
import type { KustomerObject } from "../lambda/contract/objects/kustomer-object.ts";
import { DEFAULT_OBJECT, OBJECTS } from "../lambda/contract/objects/registry.ts";
import { BULK_ID } from "../lambda/contract/requests.ts";
import { errorResponseSchema, statusResultSchema, submitResultSchema } from "../lambda/contract/results.ts";

export const OPENAPI_FILE = "openapi.json";

function jsonSchema(schema: z.core.$ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const json = (ref: string) => ({ "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } });
const errors = Object.fromEntries(
  [
    ["400", "ValidationError: the request is invalid (every issue with its path)"],
    ["404", "ValidationError: no such route"],
    ["413", "ValidationError: more than MAX_ITEMS updates"],
    [
      "409",
      "IdempotencyConflictError: the Idempotency-Key was used with another body, or its first request is in flight (see Retry-After)",
    ],
    ["415", "ValidationError: the body is not JSON"],
    ["422", "KustomerRequestError: Kustomer rejected the request"],
    ["429", "KustomerRateLimitError: still rate-limited after retries (see Retry-After)"],
    ["500", "ConfigurationError"],
    ["502", "KustomerAuthError: Kustomer refused the API key"],
    ["503", "KustomerUnavailableError, SecretUnavailableError or IdempotencyUnavailableError: retry later"],
    ["504", "KustomerUnavailableError: Kustomer timed out"],
  ].map(([status, description]) => [status, { description, content: json("Error") }]),
);

/** PUT /<plural>/bulk: an object's updates (objects/registry.ts), validated and submitted. */
function submitOperation(object: KustomerObject) {
  const update = `${object.title}Update`;
  return {
    // The customer's keeps the name it had before objects had names.
    operationId: object.name === DEFAULT_OBJECT.name ? "submitBulkUpdate" : `submit${object.title}BulkUpdate`,
    summary: `Validate and submit ${object.name} updates`,
    parameters: [
      {
        name: "ids",
        in: "query",
        required: false,
        description: `Comma-separated ${object.name} ids: the body's one update is applied to each of them`,
        schema: { type: "string" },
      },
      { name: "dryRun", in: "query", required: false, description: "Validate and plan, send nothing", schema: { type: "boolean" } },
      {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: "Applies the request once per key: a repeat answers the first result (IDEMPOTENCY_TTL_SECONDS)",
        schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
      },
    ],
    requestBody: {
      required: true,
      content: {
        "application/json": {
          schema: { type: "array", minItems: 1, maxItems: MAX_COMMAND_ITEMS, items: { $ref: `#/components/schemas/${update}` } },
        },
      },
    },
    responses: {
      "202": { description: "Accepted by Kustomer", content: json("SubmitResult") },
      "200": { description: "Dry run: the planned requests", content: json("SubmitResult") },
      ...errors,
    },
  };
}

export function buildOpenApiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "kustomer-bulk-update",
      version: "0.1.0",
      description: "Validated bulk customer updates for Kustomer (PUT /v1/customers/bulk), applied asynchronously by Kustomer.",
    },
    security: [{ sigv4: [] }, { apiKey: [] }],
    paths: {
      ...Object.fromEntries(OBJECTS.map((object) => [object.route, { put: submitOperation(object) }])),
      "/bulk/{bulkId}": {
        get: {
          operationId: "getBulkStatus",
          summary: "The status of a bulk operation and, once complete, its per-customer failures",
          parameters: [{ name: "bulkId", in: "path", required: true, schema: { type: "string", pattern: BULK_ID.source } }],
          responses: { "200": { description: "The operation's status", content: json("StatusResult") }, ...errors },
        },
      },
    },
    components: {
      securitySchemes: {
        sigv4: { type: "apiKey", name: "Authorization", in: "header", description: "AWS SigV4 (IAM authorization, the default)" },
        apiKey: { type: "apiKey", name: "x-api-key", in: "header", description: "API key with a usage plan (the apiKeyAuth option)" },
      },
      schemas: {
        ...Object.fromEntries(OBJECTS.map((object) => [`${object.title}Update`, jsonSchema(object.update, "input")])),
        SubmitResult: jsonSchema(submitResultSchema, "output"),
        StatusResult: jsonSchema(statusResultSchema, "output"),
        Error: jsonSchema(errorResponseSchema, "output"),
      },
    },
  };
}

export function renderOpenApiDocument(): string {
  return `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(OPENAPI_FILE, renderOpenApiDocument());
  console.log(`wrote ${OPENAPI_FILE}`);
}
