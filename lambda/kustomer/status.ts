// Reading bulk operations back: each one's status and, once complete, its per-customer failures.
import type * as z from "zod/mini";
import { KustomerRequestError } from "../contract/kustomer-errors.ts";
import { NOT_FOUND } from "../contract/names.ts";
import type { CustomerFailure } from "../contract/results.ts";
import { account } from "../core/accounting.ts";
import { inPool } from "../core/pool.ts";
import type { ReadOperation } from "../core/ports.ts";
import type { KustomerApi } from "./client.ts";
import { appliedOf, batchesResponse, bulkOperationResponse, failuresOf, statusOf } from "./wire.ts";

/** Reading bulk operations needs this role (or the legacy org.user.bulk.read). */
const BULK_READ_ROLE = "org.permission.bulk.read";

async function getBulkStatus(bulkId: string, client: KustomerApi, deadlineAt: number): Promise<ReadOperation> {
  const path = `/v1/bulk/${encodeURIComponent(bulkId)}`;
  let data: z.infer<typeof bulkOperationResponse>;
  try {
    ({ data } = await client.send({ method: "GET", path, role: BULK_READ_ROLE }, bulkOperationResponse, deadlineAt));
  } catch (error) {
    // One unknown id must not hide the others' status.
    if (error instanceof KustomerRequestError && error.kustomerStatus === 404) {
      return {
        status: { bulkId, status: NOT_FOUND, successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] },
        applied: 0,
        failed: 0,
      };
    }
    throw error;
  }
  const status = statusOf(data.data, "unknown");
  if (status !== "complete")
    return {
      status: { bulkId, status, successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] },
      applied: 0,
      failed: 0,
    };
  const { data: batches } = await client.send(
    { method: "GET", path: `${path}/batches`, role: BULK_READ_ROLE },
    batchesResponse,
    deadlineAt,
  );
  let successCount = 0;
  let failureCount = 0;
  const failures: CustomerFailure[] = [];
  const appliedIds: string[] = [];
  const customerIds = new Set(data.data.attributes?.ids ?? []);
  for (const entry of batches.data) {
    const batch = { ...entry, ...entry.attributes };
    successCount += batch.successCount ?? 0;
    failureCount += batch.failureCount ?? 0;
    failures.push(...failuresOf(batch));
    appliedIds.push(...appliedOf(batch));
    for (const id of batch.objectIds ?? []) customerIds.add(id);
  }
  // Kustomer named the operation's customers: those its answer does not account for are in doubt.
  // Without their names, only its counts are left: numbers, trusted as numbers.
  const named = customerIds.size > 0 ? account([...customerIds], { successCount, failures, appliedIds }) : undefined;
  return {
    status: { bulkId, status, successCount, failureCount, failures, inDoubtCustomerIds: named?.inDoubt ?? [] },
    applied: named ? named.applied : successCount,
    failed: named ? named.failed.length : Math.max(failureCount, failures.length),
    customerIds: [...customerIds],
  };
}

/** Up to 100 operations, read `concurrency` at a time; what each accounts for as applied beside its status. */
export async function readOperations(
  bulkIds: string[],
  client: KustomerApi,
  deadlineAt: number,
  concurrency: number,
): Promise<ReadOperation[]> {
  const operations: ReadOperation[] = new Array(bulkIds.length);
  const failure = await inPool(
    bulkIds.length,
    concurrency,
    async (index) => {
      operations[index] = await getBulkStatus(bulkIds[index] as string, client, deadlineAt);
    },
    { stopOnFailure: true },
  );
  if (failure) throw failure.error;
  return operations;
}
