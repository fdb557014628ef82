// The use case, free of any trigger: validate the request, then submit, plan (dry run) or read status.
import type { Config } from "./config.ts";
import {
  dryRun,
  getBulkStatuses,
  submitBulkUpdate,
  type BulkDependencies,
} from "./kustomer/bulk.ts";
import { parseRequest, type StatusResult, type SubmitResult } from "./schema.ts";

export interface Services extends BulkDependencies {
  config: Config;
}

export type RequestResult = SubmitResult | StatusResult;

export async function processRequest(input: unknown, services: Services, deadlineAt: number): Promise<RequestResult> {
  const request = parseRequest(input, services.config.maxItems);
  if (request.action === "status") {
    services.log.info("reading bulk status", { operations: request.bulkIds.length });
    return getBulkStatuses(request.bulkIds, services.client, deadlineAt);
  }
  if (request.dryRun) return dryRun(request);
  const items = request.ids?.length ?? request.body.length;
  services.log.info("submitting bulk update", { items, mode: request.ids ? "ids" : "array" });
  return submitBulkUpdate(request, services, deadlineAt);
}
