// What a complete bulk operation says of its customers (CONTRACT §2.6), one rule for every path: the
// customers Kustomer names are failed or applied; a count names the rest only when it leaves no choice
// (all the others counted as updated); the customers left unnamed are in doubt.
import type { CustomerFailure } from "../contract/results.ts";

export interface Named {
  successCount: number | null;
  failures: CustomerFailure[];
  /** Customers Kustomer named as updated (results[] entries). */
  appliedIds: string[];
}

export interface Accounting {
  /** Failures of this operation's own customers. */
  failed: Array<CustomerFailure & { id: string }>;
  /** How many were applied: named, or counted where the count leaves no choice. */
  applied: number;
  inDoubt: string[];
}

export function account(customerIds: string[], { successCount, failures, appliedIds }: Named): Accounting {
  const rest = new Map(customerIds.map((id) => [id.toLowerCase(), id]));
  const failed: Accounting["failed"] = [];
  for (const failure of failures) {
    const id = failure.id === null ? undefined : rest.get(failure.id.toLowerCase());
    if (id === undefined) continue;
    rest.delete(id.toLowerCase());
    failed.push({ ...failure, id });
  }
  let applied = 0;
  for (const id of appliedIds) if (rest.delete(id.toLowerCase())) applied += 1;
  // Every customer not named is counted as updated: the count names them.
  if (rest.size === 0 || (successCount !== null && successCount - applied === rest.size))
    return { failed, applied: applied + rest.size, inDoubt: [] };
  return { failed, applied, inDoubt: [...rest.values()] };
}
