// A job file's lines (CONTRACT §7): numbered from 1 as the file holds them, blank ones skipped, cut
// into batches of one bulk request each. A batch is also a byte range of the file, so a Distributed
// Map child can read just its own lines.
import { KUSTOMER_BULK_LIMIT } from "../kustomer/plan.ts";

export interface JobLine {
  /** 1-based, counting blank lines too: the number an editor shows. */
  line: number;
  text: string;
}

/** Where a batch's lines are: its first and last line numbers, and their bytes [start, end). */
export interface LineRange {
  first: number;
  last: number;
  start: number;
  end: number;
}

/** Lines per batch: one Kustomer bulk request. */
export const LINES_PER_BATCH = KUSTOMER_BULK_LIMIT;

/** The non-blank lines of a stream of read lines. */
export async function* nonBlank(lines: AsyncIterable<ReadLine>): AsyncGenerator<JobLine> {
  for await (const { line, text } of lines) if (text.trim() !== "") yield { line, text };
}

/** A line as read from the file's bytes: its exact length there, newline (and any \r) included. */
export interface ReadLine extends JobLine {
  bytes: number;
}

/** The lines of a byte stream, numbered from `first`, with their exact byte lengths, in constant memory. */
export async function* readLines(stream: AsyncIterable<Uint8Array>, first = 1): AsyncGenerator<ReadLine> {
  let pending = Buffer.alloc(0);
  let line = first;
  for await (const chunk of stream) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
    let newline: number;
    while ((newline = pending.indexOf(0x0a)) >= 0) {
      yield { line: line++, text: pending.subarray(0, newline).toString("utf8").replace(/\r$/, ""), bytes: newline + 1 };
      pending = pending.subarray(newline + 1);
    }
  }
  if (pending.length) yield { line, text: pending.toString("utf8").replace(/\r$/, ""), bytes: pending.length };
}

/**
 * Cuts a stream of the file's lines (each with its byte length, newline included) into ranges of at
 * most LINES_PER_BATCH non-blank lines. Constant memory: only the current range is held.
 */
export async function* rangesOf(lines: AsyncIterable<ReadLine>): AsyncGenerator<LineRange & { count: number }> {
  let current: (LineRange & { count: number }) | undefined;
  let offset = 0;
  for await (const { line, text, bytes } of lines) {
    if (text.trim() !== "") {
      current ??= { first: line, last: line, start: offset, end: offset, count: 0 };
      current.last = line;
      current.end = offset + bytes;
      current.count += 1;
    }
    offset += bytes;
    if (current?.count === LINES_PER_BATCH) {
      yield current;
      current = undefined;
    }
  }
  if (current) yield current;
}
