// The job bucket (store.ts's port on AWS), through the S3 client: ranged reads of the job file, the
// run's own JSON files, and large objects (the report, the retry file) uploaded in parts as written.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { type LineRange, type ReadLine, readLines } from "./lines.ts";
import { JobFileChangedError, type JobStore, type ObjectWriter } from "./store.ts";

/** S3's smallest part but the last is 5 MiB: parts of 8 MiB keep a 10 GB report under its 10,000. */
const PART_BYTES = 8 * 1024 * 1024;

let client: S3Client | undefined;

export class JobBucket implements JobStore {
  private readonly s3: S3Client;

  constructor(readonly name: string) {
    this.s3 = client ??= new S3Client({});
  }

  async version(key: string): Promise<string> {
    return (await this.s3.send(new HeadObjectCommand({ Bucket: this.name, Key: key }))).ETag ?? "";
  }

  /** A read of the object, or of a range of it, as long as it is still `version`. */
  private async read(
    key: string,
    range: { start: number; end: number } | undefined,
    version: string | undefined,
  ): Promise<AsyncIterable<Uint8Array>> {
    try {
      const object = await this.s3.send(
        new GetObjectCommand({
          Bucket: this.name,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}),
          ...(version ? { IfMatch: version } : {}),
        }),
      );
      return object.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      if ((error as { name?: string }).name === "PreconditionFailed") throw new JobFileChangedError(key, { cause: error });
      throw error;
    }
  }

  async *lines(key: string, range?: LineRange, version?: string): AsyncGenerator<ReadLine> {
    yield* readLines(await this.read(key, range, version), range?.first ?? 1, range?.start ?? 0);
  }

  async bytes(key: string, start: number, end: number, version?: string): Promise<AsyncIterable<Uint8Array>> {
    return this.read(key, { start, end }, version);
  }

  async getJson<T>(key: string): Promise<T> {
    const object = await this.s3.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
    return JSON.parse((await object.Body?.transformToString()) ?? "null") as T;
  }

  async exists(key: string): Promise<boolean> {
    const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: key, MaxKeys: 1 }));
    return page.Contents?.[0]?.Key === key;
  }

  async put(key: string, body: string, contentType = "application/json"): Promise<string> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentType: contentType }));
    return `s3://${this.name}/${key}`;
  }

  writer(key: string, contentType = "application/json"): ObjectWriter {
    const target = { Bucket: this.name, Key: key };
    let pending: Array<string | Uint8Array> = [];
    let pendingBytes = 0;
    let uploadId: string | undefined;
    const parts: Array<{ ETag?: string; PartNumber: number }> = [];
    const flush = async () => {
      uploadId ??= (await this.s3.send(new CreateMultipartUploadCommand({ ...target, ContentType: contentType }))).UploadId;
      const PartNumber = parts.length + 1;
      const body = Buffer.concat(pending.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk)));
      pending = [];
      pendingBytes = 0;
      const { ETag } = await this.s3.send(new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: body }));
      parts.push({ ETag, PartNumber });
    };
    const abort = async (error: unknown) => {
      if (uploadId) await this.s3.send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId })).catch(() => undefined);
      throw error;
    };
    return {
      write: async (chunk) => {
        pending.push(chunk);
        pendingBytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
        if (pendingBytes >= PART_BYTES) await flush().catch(abort);
      },
      end: async () => {
        // Small enough for one request: no upload to manage.
        if (!uploadId) {
          await this.s3.send(
            new PutObjectCommand({
              Bucket: this.name,
              Key: key,
              Body: Buffer.concat(pending.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : chunk))),
              ContentType: contentType,
            }),
          );
          return `s3://${this.name}/${key}`;
        }
        try {
          if (pendingBytes > 0) await flush();
          await this.s3.send(new CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
        } catch (error) {
          await abort(error);
        }
        return `s3://${this.name}/${key}`;
      },
    };
  }

  async *list(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }));
      for (const entry of page.Contents ?? []) if (entry.Key) yield entry.Key;
      token = page.NextContinuationToken;
    } while (token);
  }
}
