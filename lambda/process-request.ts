// The use case, free of any trigger: validate the request, then submit, plan (dry run) or read status.
import type { Config } from "./config.ts";
import type { DeadLetterQueue } from "./dead-letter.ts";
import {
  dryRun,
  getBulkStatuses,
  submitBulkUpdate,
  type BulkDependencies,
} from "./kustomer/bulk.ts";
import type { StatusResult, SubmitResult } from "./results.ts";
import { parseRequest } from "./schema.ts";

export interface Services extends BulkDependencies {
  config: Config;
  deadLetters?: DeadLetterQueue;
}

export type RequestResult = SubmitResult | StatusResult;

export async function processRequest(input: unknown, services: Services, deadlineAt: number): Promise<RequestResult> {
  const request = parseRequest(input, services.config.maxItems);
  if (request.action === "status") return getBulkStatuses(request.bulkIds, services.client, deadlineAt, services.concurrency);
  if (request.dryRun) return dryRun(request);
  return submitBulkUpdate(request, services, deadlineAt);
}
