// Reading bulk operations back: each one's status and, once complete, its per-customer failures.
import * as z from "zod/mini";
import { KustomerRequestError } from "../errors.ts";
import type { CustomerFailure, OperationStatus, StatusResult } from "../results.ts";
import type { KustomerApi } from "./client.ts";
import { inPool } from "./pool.ts";
import { account } from "./accounting.ts";
import { appliedOf, batchesResponse, bulkOperationResponse, failuresOf, statusOf } from "./wire.ts";

/** The status of a bulk id Kustomer does not know (CONTRACT §2.3). */
export const NOT_FOUND = "notFound";

async function getBulkStatus(bulkId: string, client: KustomerApi, deadlineAt: number): Promise<OperationStatus> {
  const path = `/v1/bulk/${encodeURIComponent(bulkId)}`;
  let data: z.infer<typeof bulkOperationResponse>;
  try {
    ({ data } = await client.send({ method: "GET", path }, bulkOperationResponse, deadlineAt));
  } catch (error) {
    // One unknown id must not hide the others' status.
    if (error instanceof KustomerRequestError && error.kustomerStatus === 404) {
      return { bulkId, status: NOT_FOUND, successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] };
    }
    throw error;
  }
  const status = statusOf(data.data, "unknown");
  if (status !== "complete") return { bulkId, status, successCount: null, failureCount: null, failures: [], inDoubtCustomerIds: [] };
  const { data: batches } = await client.send({ method: "GET", path: `${path}/batches` }, batchesResponse, deadlineAt);
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
  const { inDoubt } = account([...customerIds], { successCount, failures, appliedIds });
  return { bulkId, status, successCount, failureCount, failures, inDoubtCustomerIds: inDoubt };
}

/** Up to 100 operations, read `concurrency` at a time so a long list still answers within API Gateway's 29 s. */
export async function getBulkStatuses(bulkIds: string[], client: KustomerApi, deadlineAt: number, concurrency: number): Promise<StatusResult> {
  const operations: OperationStatus[] = new Array(bulkIds.length);
  const failure = await inPool(
    bulkIds.length,
    concurrency,
    async (index) => {
      operations[index] = await getBulkStatus(bulkIds[index] as string, client, deadlineAt);
    },
    { stopOnFailure: true },
  );
  if (failure) throw failure.error;
  return { allComplete: operations.every((operation) => operation.status === "complete"), operations };
}
