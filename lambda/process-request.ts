// The use case, free of any trigger: validate the request, then submit, plan (dry run), read status
// or the outcome, or submit what is valid of a large job's batch or lines.
import type { Config } from "./config.ts";
import type { DeadLetterQueue } from "./dead-letter.ts";
import { submitLines, type JobBatchResult } from "./job/batch.ts";
import { dryRun } from "./kustomer/plan.ts";
import { getBulkStatuses } from "./kustomer/status.ts";
import { submitBulkUpdate } from "./kustomer/submit.ts";
import { readOutcome, type OutcomeDependencies } from "./outcome.ts";
import type { OutcomeResult, StatusResult, SubmitResult } from "./results.ts";
import { parseRequest, splitBatch } from "./validation.ts";

export interface Services extends OutcomeDependencies {
  config: Config;
  deadLetters?: DeadLetterQueue;
}

export type RequestResult = SubmitResult | StatusResult | OutcomeResult | JobBatchResult;

export async function processRequest(input: unknown, services: Services, deadlineAt: number): Promise<RequestResult> {
  const request = parseRequest(input, services.config.maxItems);
  if (request.action === "status") return getBulkStatuses(request.bulkIds, services.client, deadlineAt, services.concurrency);
  if (request.action === "outcome") return readOutcome(request, services, deadlineAt);
  if (request.action === "lines") return submitLines(request.lines, services, deadlineAt);
  if (request.action === "batch") {
    const { command, rejected } = splitBatch(request.items);
    const submitted = command ? await submitBulkUpdate(command, services, deadlineAt) : { status: "submitted" as const, items: 0, operations: [] };
    return rejected.length > 0 ? { ...submitted, rejected } : submitted;
  }
  if (request.dryRun) return dryRun(request);
  return submitBulkUpdate(request, services, deadlineAt);
}
