// The port Collect reads the Distributed Map's children through: on AWS the map's ResultWriter files
// (result-writer.ts), on this machine the local driver's record of the children it ran (local/job.ts).
import type { BatchSummary } from "./ledger.ts";

export interface ChildResult {
  /** The child's input: the batch's first line identifies it. */
  first: number;
  status: "SUCCEEDED" | "FAILED" | "PENDING" | "ABORTED" | "TIMED_OUT" | string;
  output?: BatchSummary;
  /** A failed child's error name and cause, as Step Functions records them. */
  error?: string;
  cause?: string;
}

export type ChildResults = AsyncIterable<ChildResult> | Iterable<ChildResult>;
