// What a status read means for a bulk operation this service recorded (CONTRACT §2.6): complete, still
// to wait for, or lost, its customers then in doubt. Shared by the workflow's follow-up and the job's.
import { NOT_FOUND } from "../contract/names.ts";

/** Statuses Kustomer documents for an operation not finished yet. */
const UNFINISHED = new Set(["queued", "running"]);

export type Verdict = { kind: "complete" } | { kind: "waiting" } | { kind: "lost"; reason: string };

export interface Recorded {
  bulkId: string;
  /** When this service received the bulk id (epoch ms). */
  recordedAt: number;
  /** The status the previous read saw, if any. */
  previous?: string | null;
}

export function verdictOf(status: string, { bulkId, recordedAt, previous }: Recorded, now: number, notFoundGraceMs: number): Verdict {
  if (status === "complete") return { kind: "complete" };
  if (UNFINISHED.has(status)) return { kind: "waiting" };
  if (status === NOT_FOUND) {
    // Kustomer may not know an id it has just given out; past the grace, nobody can say.
    if (now - recordedAt < notFoundGraceMs) return { kind: "waiting" };
    return {
      kind: "lost",
      reason: `Kustomer stopped reporting bulk operation ${bulkId} (404 for over ${Math.round(notFoundGraceMs / 1000)} s)`,
    };
  }
  // An undocumented status seen twice is Kustomer's last word on it.
  return previous === status ? { kind: "lost", reason: `Kustomer reported bulk operation ${bulkId} ${status}` } : { kind: "waiting" };
}
