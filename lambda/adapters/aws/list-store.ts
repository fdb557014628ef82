// Lists too long for an event are kept whole in S3 (core/listed.ts decides when), under
// results/outcomes/. The S3 client is loaded only when a list is that long.

import { randomUUID } from "node:crypto";
import type { S3Client } from "@aws-sdk/client-s3";
import { OUTCOMES_PREFIX } from "../../contract/names.ts";
import type { ListStore } from "../../core/ports.ts";

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
