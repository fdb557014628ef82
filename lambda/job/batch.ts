// One batch of a large job: each line checked on its own (an invalid line fails alone, with its reason),
// the valid ones sent as one bulk request. A request Kustomer refuses for good is an answer too, so each
// line keeps its own reason; a retryable failure is thrown, for the caller's retry.
import { BulkUpdateError } from "../errors.ts";
import { submitBulkUpdate, type BulkDependencies } from "../kustomer/submit.ts";
import { splitBatch } from "../validation.ts";
import type { JobLine } from "./lines.ts";

export interface LineFailure {
  line: number;
  /** The line's customer id, where it had one. */
  id?: string;
  reason: string;
}

export interface JobBatchResult {
  /** Lines refused before sending. */
  rejected: LineFailure[];
  /** Lines Kustomer accepted, by bulk operation; `lines` and `customerIds` in the same order. */
  operations: Array<{ bulkId: string; lines: number[]; customerIds: string[] }>;
  /** Valid lines whose request Kustomer (or the service) refused for good. */
  refused?: { lines: number[]; customerIds: string[]; reason: string };
}

export async function submitLines(lines: JobLine[], services: BulkDependencies, deadlineAt: number): Promise<JobBatchResult> {
  const rejected: LineFailure[] = [];
  const parsed: Array<{ line: number; item: unknown }> = [];
  for (const { line, text } of lines) {
    try {
      parsed.push({ line, item: JSON.parse(text) });
    } catch {
      // JSON.parse quotes the text in its message, and the text holds personal data.
      rejected.push({ line, reason: "is not JSON" });
    }
  }
  const { command, rejected: invalid } = splitBatch(parsed.map(({ item }) => item));
  for (const { index, id, reason } of invalid) rejected.push({ line: (parsed[index] as { line: number }).line, ...(id === undefined ? {} : { id }), reason });
  rejected.sort((a, b) => a.line - b.line);
  if (!command) return { rejected, operations: [] };

  // Customer ids are unique within a batch (splitBatch refuses a repeat), so each names its line.
  const refusedIndexes = new Set(invalid.map(({ index }) => index));
  const lineOf = new Map(parsed.filter((_, index) => !refusedIndexes.has(index)).map(({ line, item }) => [(item as { id: string }).id.toLowerCase(), line]));
  const linesFor = (customerIds: string[]) => customerIds.map((id) => lineOf.get(id) as number);
  try {
    const submitted = await submitBulkUpdate(command, services, deadlineAt);
    return {
      rejected,
      operations: submitted.operations.map((operation) => ({ bulkId: operation.bulkId as string, lines: linesFor(operation.customerIds), customerIds: operation.customerIds })),
    };
  } catch (error) {
    if (!(error instanceof BulkUpdateError) || error.retryable) throw error;
    const customerIds = command.body.map((update) => update.id);
    return { rejected, operations: [], refused: { lines: linesFor(customerIds), customerIds, reason: `${error.name}: ${error.message}` } };
  }
}
