// Kustomer's wire shapes, in one place: the bulk operation resource, its batches with their
// per-customer results, and Kustomer's two error shapes (with the masking of what they may quote).
import * as z from "zod/mini";
import type { KustomerErrorDetail } from "../contract/kustomer-errors.ts";
import { REJECTED } from "../contract/names.ts";
import type { CustomerFailure } from "../contract/results.ts";

/** What PUT /v1/customers/bulk and GET /v1/bulk/{id} both answer: the bulk operation resource. */
export const bulkOperationResponse = z.object({
  data: z.object({
    id: z.string().check(z.minLength(1)),
    status: z.optional(z.string()),
    attributes: z.optional(z.object({ status: z.optional(z.string()), ids: z.optional(z.array(z.string())) })),
  }),
});

/**
 * The status sits under `attributes` in the spec and directly under `data` in the guide. A just
 * accepted operation without one is queued; a read one without one is reported as unknown.
 */
export function statusOf(data: z.infer<typeof bulkOperationResponse>["data"], missing: "queued" | "unknown"): string {
  return data.attributes?.status ?? data.status ?? missing;
}

const batchResult = z.looseObject({
  _clientRef: z.optional(z.string()),
  objectId: z.optional(z.string()),
  status: z.optional(z.string()),
  error: z.optional(z.unknown()),
});
const batchFields = z.looseObject({
  successCount: z.optional(z.number()),
  failureCount: z.optional(z.number()),
  objectIds: z.optional(z.array(z.string())),
  errors: z.optional(z.unknown()),
  results: z.optional(z.array(batchResult)),
});
// Each batch may come as a JSON:API resource (fields under `attributes`) or as a plain object.
export const batchesResponse = z.object({
  data: z.array(z.intersection(z.looseObject({ attributes: z.optional(batchFields) }), batchFields)),
});

/** Kustomer's reason for one customer, which may quote the customer's data: masked like its request errors. */
function errorText(error: unknown): string | undefined {
  if (typeof error === "string") return redact(error);
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    for (const key of ["message", "title", "detail", "error"]) {
      if (typeof e[key] === "string") return redact(e[key]);
    }
  }
  return undefined;
}

/** A code from a fixed alphabet can be put in an event; Kustomer's free text cannot (it may quote a name). */
function reasonOf(error: unknown): string {
  const code = error && typeof error === "object" ? (error as Record<string, unknown>).code : undefined;
  return typeof code === "string" && /^[A-Za-z0-9_.:-]{1,64}$/.test(code) ? code : REJECTED;
}

function failureOf(id: string | null, error: unknown): CustomerFailure {
  const detail = errorText(error);
  return { id, error: reasonOf(error), ...(detail ? { detail } : {}) };
}

/** The customers a batch names as updated (created counts too), by `_clientRef` or objectId. */
export function appliedOf(batch: z.infer<typeof batchFields>): string[] {
  return (batch.results ?? [])
    .filter((result) => result.status === "updated" || result.status === "created")
    .flatMap((result) => {
      const id = result._clientRef ?? result.objectId;
      return id === undefined ? [] : [id];
    });
}

export function failuresOf(batch: z.infer<typeof batchFields>): CustomerFailure[] {
  const failures: CustomerFailure[] = (batch.results ?? [])
    .filter((result) => result.status === "error")
    .map((result) => failureOf(result._clientRef ?? result.objectId ?? null, result.error));
  // Without `_clientRef` (ids mode) Kustomer reports only `errors`, whose shape it does not document.
  if (failures.length === 0 && Array.isArray(batch.errors)) {
    for (const error of batch.errors) {
      const id =
        error && typeof error === "object" ? ((error as Record<string, unknown>).objectId ?? (error as Record<string, unknown>).id) : null;
      failures.push(failureOf(typeof id === "string" ? id : null, error));
    }
  }
  return failures;
}

// Kustomer's messages may quote what was sent; emails and phone numbers must not travel on from here.
export function redact(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  return text
    .replace(/[^\s@"'<>]+@[^\s@"'<>]+/g, "[email]")
    .replace(/\+?\d[\d\s().-]{6,}\d/g, "[number]")
    .slice(0, 500);
}

/** Details kept of one answer: enough to fix a request, few enough to keep every answer small. */
export const MAX_ERROR_DETAILS = 20;

/**
 * Both of Kustomer's error shapes: `errors[].code/message/meta` and JSON:API `status/code/title/detail/source`.
 * Read breadth first, without recursion, and bounded: a hostile answer nests `subErrors` as deep as it likes.
 */
export function parseKustomerErrors(body: unknown): KustomerErrorDetail[] {
  const errors = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(errors)) return [];
  const details: KustomerErrorDetail[] = [];
  const queue: unknown[] = errors.slice(0, MAX_ERROR_DETAILS);
  while (queue.length > 0 && details.length < MAX_ERROR_DETAILS) {
    const entry = queue.shift();
    if (!entry || typeof entry !== "object") continue;
    const e = entry as Record<string, unknown>;
    const source = (e.source ?? {}) as Record<string, unknown>;
    const pointer = redact(source.pointer ?? source.parameter)?.slice(0, 200);
    const status = Number(e.status);
    const code = redact(e.code)?.slice(0, 64);
    details.push({
      ...(Number.isInteger(status) && status > 0 ? { status } : {}),
      ...(code ? { code } : {}),
      ...(redact(e.title ?? e.message) ? { title: redact(e.title ?? e.message) } : {}),
      ...(redact(e.detail) ? { detail: redact(e.detail) } : {}),
      ...(pointer ? { pointer } : {}),
    });
    const subErrors = (e.meta as { subErrors?: unknown } | undefined)?.subErrors;
    if (Array.isArray(subErrors)) queue.push(...subErrors.slice(0, MAX_ERROR_DETAILS));
  }
  return details;
}
