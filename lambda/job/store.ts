// The port a job's steps keep their files through: the job bucket on AWS (bucket.ts), a folder on this
// machine (local/job-folder.ts). Keys are the bucket's: the job file's own, and results/<run>/...

import { RESULTS_PREFIX } from "../contract/names.ts";
import type { LineRange, ReadLine } from "./lines.ts";

/** A large object written piece by piece, never held whole. */
export interface ObjectWriter {
  write(chunk: string | Uint8Array): Promise<void>;
  /** Finishes the object; answers where it is (s3://bucket/key, or a path). */
  end(): Promise<string>;
}

export interface JobStore {
  /** The bucket's name (or the folder's path), as the map's items carry it. */
  readonly name: string;
  /** The object's version as it is now (S3's ETag): every read of the job file names it. */
  version(key: string): Promise<string>;
  /**
   * The lines of the file, or of a range of it, as they stream in. With `version`, the file must still
   * be that version: a job file replaced during its run would mix two files' lines (JobFileChangedError).
   */
  lines(key: string, range?: LineRange, version?: string): AsyncGenerator<ReadLine>;
  /** The bytes [start, end) of an object, as they stream in. */
  bytes(key: string, start: number, end: number, version?: string): Promise<AsyncIterable<Uint8Array>>;
  /** The object as JSON. */
  getJson<T>(key: string): Promise<T>;
  /**
   * Whether the object is there. Asked by listing: S3 answers a read of a missing key with 403, not
   * 404, to a caller that may not list the whole bucket, as the job's function may not.
   */
  exists(key: string): Promise<boolean>;
  put(key: string, body: string, contentType?: string): Promise<string>;
  writer(key: string, contentType?: string): ObjectWriter;
  /** Every key under `prefix`. */
  list(prefix: string): AsyncGenerator<string>;
}

/** The job file was replaced during its run: what was not read yet is not sent. */
export class JobFileChangedError extends Error {
  override readonly name = "JobFileChangedError";

  constructor(key: string, options: { cause?: unknown } = {}) {
    super(`the job file ${key} was replaced during its run`, options);
  }
}

/** Where a run keeps a file of its own. */
export const runKey = (run: string, file: string) => `${RESULTS_PREFIX}/${run}/${file}`;
