// The job bucket's stand-in on this machine: a folder, through the same port the steps use on AWS
// (lambda/job/store.ts). Keys are paths under it; large objects are written as streams.

import { once } from "node:events";
import { createReadStream, createWriteStream, type Dirent } from "node:fs";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { type LineRange, type ReadLine, readLines } from "../lambda/job/lines.ts";
import { JobFileChangedError, type JobStore, type ObjectWriter } from "../lambda/job/store.ts";

export class JobFolder implements JobStore {
  constructor(readonly name: string) {}

  private path(key: string): string {
    return join(this.name, key);
  }

  async version(key: string): Promise<string> {
    const { size, mtimeMs } = await stat(this.path(key));
    return `${size}-${mtimeMs}`;
  }

  private async unchanged(key: string, version: string | undefined): Promise<void> {
    if (version !== undefined && (await this.version(key)) !== version) throw new JobFileChangedError(key);
  }

  async *lines(key: string, range?: LineRange, version?: string): AsyncGenerator<ReadLine> {
    await this.unchanged(key, version);
    const stream = createReadStream(this.path(key), range ? { start: range.start, end: range.end - 1 } : {});
    yield* readLines(stream, range?.first ?? 1, range?.start ?? 0);
  }

  async bytes(key: string, start: number, end: number, version?: string): Promise<AsyncIterable<Uint8Array>> {
    await this.unchanged(key, version);
    return createReadStream(this.path(key), { start, end: end - 1 });
  }

  async getJson<T>(key: string): Promise<T> {
    return JSON.parse(await readFile(this.path(key), "utf8")) as T;
  }

  async exists(key: string): Promise<boolean> {
    return stat(this.path(key)).then(
      (info) => info.isFile(),
      () => false,
    );
  }

  async put(key: string, body: string): Promise<string> {
    await mkdir(dirname(this.path(key)), { recursive: true });
    await writeFile(this.path(key), body);
    return this.path(key);
  }

  writer(key: string): ObjectWriter {
    const ready = mkdir(dirname(this.path(key)), { recursive: true }).then(() => createWriteStream(this.path(key)));
    return {
      write: async (chunk) => {
        const stream = await ready;
        if (!stream.write(chunk)) await once(stream, "drain");
      },
      end: async () => {
        const stream = await ready;
        stream.end();
        await once(stream, "close");
        return this.path(key);
      },
    };
  }

  async *list(prefix: string): AsyncGenerator<string> {
    const folder = this.path(prefix.slice(0, prefix.lastIndexOf("/") + 1));
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { recursive: true, withFileTypes: true });
    } catch (error) {
      if ((error as { code?: string }).code === "ENOENT") return;
      throw error;
    }
    for (const entry of entries) {
      const key = relative(this.name, join(entry.parentPath, entry.name));
      if (entry.isFile() && key.startsWith(prefix)) yield key;
    }
  }
}
