// Lists too long for an event (EventBridge caps one at 256 KB) are kept whole in S3, and the event
// lists their start with the object's location. The S3 client is loaded only when a list is that long.

import { randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { OUTCOMES_PREFIX } from "../../contract/names.ts";

/** Entries an event lists at most, and the bytes they may take (a reason can be long). */
export const MAX_LISTED = 1_000;
export const MAX_LISTED_BYTES = 100_000;

export interface ListStore {
  /** Stores the list under a new name ending in `-<what>.json`, and answers its s3:// location. */
  put(what: string, list: unknown[]): Promise<string>;
}

export class S3ListStore implements ListStore {
  private client?: S3Client;

  constructor(private readonly bucket: string) {}

  async put(what: string, list: unknown[]): Promise<string> {
    const { S3Client, PutObjectCommand } = await import("@aws-sdk/client-s3");
    this.client ??= new S3Client({});
    // Dated, so an operator can find a day's lists; random, so no two runs ever share one.
    const key = `${OUTCOMES_PREFIX}${new Date().toISOString().slice(0, 10)}/${randomUUID()}-${what}.json`;
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: JSON.stringify(list), ContentType: "application/json" }),
    );
    return `s3://${this.bucket}/${key}`;
  }
}

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
