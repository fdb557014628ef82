// A job's files in the job bucket: the job file under jobs/, and each run's own files under
// results/<run>/ (the batches, the Distributed Map's results, the ledger, the report, the retry file).
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";
import { readLines, type LineRange, type ReadLine } from "./lines.ts";

export const RESULTS_PREFIX = "results";

/** Where a run keeps a file of its own. */
export const runKey = (run: string, file: string) => `${RESULTS_PREFIX}/${run}/${file}`;

let client: S3Client | undefined;

export class JobBucket {
  private readonly s3: S3Client;

  constructor(readonly name: string) {
    this.s3 = client ??= new S3Client({});
  }

  private async body(key: string, range?: Pick<LineRange, "start" | "end">): Promise<Readable> {
    const object = await this.s3.send(
      new GetObjectCommand({ Bucket: this.name, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }),
    );
    return object.Body as Readable;
  }

  /** The lines of the file, or of a range of it, as they stream in. */
  async *lines(key: string, range?: LineRange): AsyncGenerator<ReadLine> {
    yield* readLines(await this.body(key, range), range?.first ?? 1);
  }

  async getJson<T>(key: string): Promise<T> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    return JSON.parse((await object.Body?.transformToString()) ?? "null") as T;
  }

  async put(key: string, body: string, contentType = "application/json"): Promise<string> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentType: contentType }));
    return `s3://${this.name}/${key}`;
  }

  /** The first key under `prefix` that ends with `suffix`, if any. */
  async find(prefix: string, suffix: string): Promise<string | undefined> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }));
      const match = page.Contents?.find((entry) => entry.Key?.endsWith(suffix));
      if (match?.Key) return match.Key;
      token = page.NextContinuationToken;
    } while (token);
    return undefined;
  }
}
