// Kustomer's bulk update: a command split into requests of at most 100 customers, sent in order, and
// the status of the resulting bulk operations read back with their per-customer failures.
import * as z from "zod/mini";
import { BulkUpdateError, KustomerRequestError } from "../errors.ts";
import type { Counters, Log } from "../observability.ts";
import type { CustomerFailure, Operation, OperationStatus, StatusResult, SubmitResult } from "../results.ts";
import type { BulkUpdateCommand, CustomerUpdate } from "../schema.ts";
import { redact, type KustomerClient } from "./client.ts";

/** The status of a bulk id Kustomer does not know (CONTRACT §2.3). */
export const NOT_FOUND = "notFound";

/** Kustomer's documented cap for one bulk request, for items and for `ids` alike. */
export const KUSTOMER_BULK_LIMIT = 100;

export interface BulkDependencies {
  client: KustomerClient;
  log: Log;
  counters: Counters;
  /** Bulk requests in flight at once for one command. */
  concurrency: number;
}

export interface PlannedRequest {
  customerIds: string[];
  query?: { ids: string };
  /** The command's own items, not copies: bodies are built one request at a time, when sent. */
  items: CustomerUpdate[];
  /** Array mode: each item goes out with `_clientRef`. */
  tagged: boolean;
}

/**
 * Array mode: chunks of the body, each item tagged with `_clientRef` (its customer id, unique in the
 * command) so batch results can be matched to customers later without any state of ours.
 * ids mode: chunks of the ids, each sent with the one shared update.
 */
export function planRequests(command: BulkUpdateCommand): PlannedRequest[] {
  const planned: PlannedRequest[] = [];
  if (command.ids) {
    for (let start = 0; start < command.ids.length; start += KUSTOMER_BULK_LIMIT) {
      const customerIds = command.ids.slice(start, start + KUSTOMER_BULK_LIMIT);
      planned.push({ customerIds, query: { ids: customerIds.join(",") }, items: command.body, tagged: false });
    }
    return planned;
  }
  for (let start = 0; start < command.body.length; start += KUSTOMER_BULK_LIMIT) {
    const items = command.body.slice(start, start + KUSTOMER_BULK_LIMIT);
    planned.push({ customerIds: items.map((item) => item.id), items, tagged: true });
  }
  return planned;
}

export function requestBody(request: PlannedRequest): Array<CustomerUpdate & { _clientRef?: string }> {
  return request.tagged ? request.items.map((item) => ({ ...item, _clientRef: item.id })) : request.items;
}

/** What PUT /v1/customers/bulk and GET /v1/bulk/{id} both answer: the bulk operation resource. */
const bulkOperationResponse = z.object({
  data: z.object({
    id: z.string().check(z.minLength(1)),
    status: z.optional(z.string()),
    attributes: z.optional(z.object({ status: z.optional(z.string()) })),
  }),
});

/**
 * The status sits under `attributes` in the spec and directly under `data` in the guide. A just
 * accepted operation without one is queued; a read one without one is reported as unknown.
 */
function statusOf(data: z.infer<typeof bulkOperationResponse>["data"], missing: "queued" | "unknown"): string {
  return data.attributes?.status ?? data.status ?? missing;
}

export function dryRun(command: BulkUpdateCommand): SubmitResult {
  const operations = planRequests(command).map((request) => ({
    bulkId: null,
    status: "planned",
    items: request.customerIds.length,
    customerIds: request.customerIds,
  }));
  return { status: "dryRun", ...echo(command), items: countItems(operations), operations };
}

/** The caller's correlationId, in the result only when the command had one. */
function echo(command: BulkUpdateCommand): { correlationId?: string } {
  return command.correlationId === undefined ? {} : { correlationId: command.correlationId };
}

function countItems(operations: Operation[]): number {
  return operations.reduce((sum, operation) => sum + operation.items, 0);
}

/**
 * Sends the requests, a bounded number at a time; each request is taken by exactly one worker, so no
 * item goes out twice. After a failure no new request starts. The error then names the bulk ids
 * accepted and the customer ids not accepted; re-sending the whole command is safe (updates are
 * idempotent).
 */
export async function submitBulkUpdate(
  command: BulkUpdateCommand,
  { client, log, counters, concurrency }: BulkDependencies,
  deadlineAt: number,
): Promise<SubmitResult> {
  const planned = planRequests(command);
  const accepted: Array<Operation | undefined> = new Array(planned.length);
  let failure: { error: unknown } | undefined;
  let next = 0;

  const send = async (index: number, request: PlannedRequest) => {
    const started = Date.now();
    const { data, attempts } = await client.send(
      { method: "PUT", path: "/v1/customers/bulk", query: request.query, body: requestBody(request) },
      bulkOperationResponse,
      deadlineAt,
    );
    const operation = { bulkId: data.data.id, status: statusOf(data.data, "queued"), items: request.customerIds.length, customerIds: request.customerIds };
    accepted[index] = operation;
    counters.count("BulkRequests");
    counters.count("ItemsSubmitted", operation.items);
    log.debug("bulk request accepted", {
      chunk: index + 1,
      chunks: planned.length,
      items: operation.items,
      bulkId: operation.bulkId,
      attempts,
      durationMs: Date.now() - started,
    });
  };
  const worker = async () => {
    while (!failure && next < planned.length) {
      const index = next++;
      try {
        await send(index, planned[index] as PlannedRequest);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, planned.length) }, worker));

  const operations = accepted.filter((operation): operation is Operation => operation !== undefined);
  if (failure) throw withProgress(failure.error, operations, planned.filter((_, index) => !accepted[index]));
  return { status: "submitted", ...echo(command), items: countItems(operations), operations };
}

/** The error, now naming the bulk ids accepted before it and the customers not sent; unchanged when nothing was sent. */
function withProgress(error: unknown, accepted: Operation[], unsent: PlannedRequest[]): unknown {
  if (!(error instanceof BulkUpdateError) || accepted.length === 0) return error;
  return error.withProgress({
    acceptedBulkIds: accepted.map((operation) => operation.bulkId as string),
    unsentCustomerIds: unsent.flatMap((request) => request.customerIds),
  });
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
const batchesResponse = z.object({
  data: z.array(z.intersection(z.looseObject({ attributes: z.optional(batchFields) }), batchFields)),
});

/** Kustomer's reason for one customer, which may quote the customer's data: masked like its request errors. */
function errorText(error: unknown): string {
  if (typeof error === "string") return redact(error) ?? "failed";
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    for (const key of ["message", "title", "detail", "error", "code"]) {
      if (typeof e[key] === "string") return redact(e[key]) ?? "failed";
    }
  }
  return "failed";
}

function failuresOf(batch: z.infer<typeof batchFields>): CustomerFailure[] {
  const failures: CustomerFailure[] = (batch.results ?? [])
    .filter((result) => result.status === "error")
    .map((result) => ({ id: result._clientRef ?? result.objectId ?? null, error: errorText(result.error) }));
  // Without `_clientRef` (ids mode) Kustomer reports only `errors`, whose shape it does not document.
  if (failures.length === 0 && Array.isArray(batch.errors)) {
    for (const error of batch.errors) {
      const id = error && typeof error === "object" ? ((error as Record<string, unknown>).objectId ?? (error as Record<string, unknown>).id) : null;
      failures.push({ id: typeof id === "string" ? id : null, error: errorText(error) });
    }
  }
  return failures;
}

async function getBulkStatus(bulkId: string, client: KustomerClient, deadlineAt: number): Promise<OperationStatus> {
  const path = `/v1/bulk/${encodeURIComponent(bulkId)}`;
  let data: z.infer<typeof bulkOperationResponse>;
  try {
    ({ data } = await client.send({ method: "GET", path }, bulkOperationResponse, deadlineAt));
  } catch (error) {
    // One unknown id must not hide the others' status.
    if (error instanceof KustomerRequestError && error.kustomerStatus === 404) {
      return { bulkId, status: NOT_FOUND, successCount: null, failureCount: null, failures: [] };
    }
    throw error;
  }
  const status = statusOf(data.data, "unknown");
  if (status !== "complete") return { bulkId, status, successCount: null, failureCount: null, failures: [] };
  const { data: batches } = await client.send({ method: "GET", path: `${path}/batches` }, batchesResponse, deadlineAt);
  let successCount = 0;
  let failureCount = 0;
  const failures: CustomerFailure[] = [];
  for (const entry of batches.data) {
    const batch = { ...entry, ...entry.attributes };
    successCount += batch.successCount ?? 0;
    failureCount += batch.failureCount ?? 0;
    failures.push(...failuresOf(batch));
  }
  return { bulkId, status, successCount, failureCount, failures };
}

/** Up to 100 operations, read `concurrency` at a time so a long list still answers within API Gateway's 29 s. */
export async function getBulkStatuses(bulkIds: string[], client: KustomerClient, deadlineAt: number, concurrency: number): Promise<StatusResult> {
  const operations: OperationStatus[] = [];
  for (let start = 0; start < bulkIds.length; start += concurrency) {
    operations.push(...(await Promise.all(bulkIds.slice(start, start + concurrency).map((bulkId) => getBulkStatus(bulkId, client, deadlineAt)))));
  }
  return { allComplete: operations.every((operation) => operation.status === "complete"), operations };
}
