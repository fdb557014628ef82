// Lists in events (CONTRACT §3.2): EventBridge caps an event at 256 KB, so an event lists at most the
// first 1,000 entries (and 100 KB), and names where the whole list is kept when that is not all of it.
import type { ListStore } from "./ports.ts";

/** Entries an event lists at most, and the bytes they may take (a reason can be long). */
export const MAX_LISTED = 1_000;
export const MAX_LISTED_BYTES = 100_000;

/**
 * The first entries that fit in an event, and where the whole list is when they are not all of it.
 * Without a store (local runs) the listing is cut short; the counts beside it stay exact.
 */
export async function listForEvent<T>(list: T[], store: ListStore | undefined, what: string): Promise<{ listed: T[]; object?: string }> {
  const listed: T[] = [];
  let bytes = 0;
  for (const entry of list) {
    bytes += Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (listed.length === MAX_LISTED || bytes > MAX_LISTED_BYTES) break;
    listed.push(entry);
  }
  if (listed.length === list.length || !store) return { listed };
  return { listed, object: await store.put(what, list) };
}
