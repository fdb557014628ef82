// A job file's lines (CONTRACT §7): numbered from 1 as the file holds them, blank ones skipped, cut
// into batches of one bulk request each. A batch is also a byte range of the file, so a Distributed
// Map child can read just its own lines. A line that is not valid UTF-8, or over 1 MB, fails alone.
import { isUtf8 } from "node:buffer";
import { KUSTOMER_BULK_LIMIT } from "../contract/limits.ts";

export interface JobLine {
  /** 1-based, counting blank lines too: the number an editor shows. */
  line: number;
  text: string;
  /** Why the line cannot be read as an update at all; its text is then empty. */
  unreadable?: string;
  /** A line that is not valid UTF-8: its bytes, for the retry file. */
  raw?: Buffer;
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

/** Past this a line is not held, only counted: it fails alone. */
const MAX_LINE_BYTES = 1024 * 1024;

const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);

/** A line as read from the file's bytes: where it starts there, and its length, newline (and any \r) included. */
export interface ReadLine extends JobLine {
  start: number;
  bytes: number;
}

const isBlank = ({ text, unreadable }: JobLine) => unreadable === undefined && text.trim() === "";

/** The non-blank lines of a stream of read lines. */
export async function* nonBlank(lines: AsyncIterable<ReadLine>): AsyncGenerator<ReadLine> {
  for await (const line of lines) if (!isBlank(line)) yield line;
}

/** The stream with a leading UTF-8 byte order mark taken off; `onMark` is told when there was one. */
async function* withoutMark(stream: AsyncIterable<Uint8Array>, onMark: () => void): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let checked = false;
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (checked) {
      yield bytes;
      continue;
    }
    head = Buffer.concat([head, bytes]);
    const compared = Math.min(head.length, BYTE_ORDER_MARK.length);
    if (compared < BYTE_ORDER_MARK.length && head.equals(BYTE_ORDER_MARK.subarray(0, compared))) continue;
    checked = true;
    if (head.subarray(0, BYTE_ORDER_MARK.length).equals(BYTE_ORDER_MARK)) {
      onMark();
      yield head.subarray(BYTE_ORDER_MARK.length);
    } else yield head;
  }
  if (!checked && head.length > 0) yield head;
}

/**
 * The lines of a byte stream, numbered from `first`, with their exact byte lengths. Memory holds one
 * line at most (up to MAX_LINE_BYTES), and each byte is looked at once, whatever the line's length.
 * `start` is where the stream begins in the file; there, a UTF-8 byte order mark is not part of the text.
 */
export async function* readLines(stream: AsyncIterable<Uint8Array>, first = 1, start = 0): AsyncGenerator<ReadLine> {
  let parts: Buffer[] = [];
  let held = 0;
  /** The current line's bytes in the file so far, held or not. */
  let length = 0;
  let tooLong = false;
  let line = first;
  let offset = start;
  const keep = (bytes: Buffer) => {
    length += bytes.length;
    if (tooLong || bytes.length === 0) return;
    if (held + bytes.length > MAX_LINE_BYTES) {
      tooLong = true;
      parts = [];
      held = 0;
      return;
    }
    parts.push(bytes);
    held += bytes.length;
  };
  const take = (): ReadLine => {
    const read = decode(parts, held, tooLong, line++, offset, length);
    offset += length;
    parts = [];
    held = 0;
    length = 0;
    tooLong = false;
    return read;
  };
  const source = start === 0 ? withoutMark(stream, () => (length += BYTE_ORDER_MARK.length)) : stream;
  for await (const chunk of source) {
    let rest = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let newline = rest.indexOf(0x0a); newline >= 0; newline = rest.indexOf(0x0a)) {
      keep(rest.subarray(0, newline));
      length += 1;
      yield take();
      rest = rest.subarray(newline + 1);
    }
    keep(rest);
  }
  if (length > 0) yield take();
}

function decode(parts: Buffer[], held: number, tooLong: boolean, line: number, start: number, bytes: number): ReadLine {
  if (tooLong) return { line, text: "", unreadable: `is over ${MAX_LINE_BYTES / (1024 * 1024)} MB`, start, bytes };
  let raw = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, held);
  if (raw.at(-1) === 0x0d) raw = raw.subarray(0, -1);
  if (!isUtf8(raw)) return { line, text: "", unreadable: "is not valid UTF-8", raw: Buffer.from(raw), start, bytes };
  return { line, text: raw.toString("utf8"), start, bytes };
}

/** Lines one range may span when only changed lines are sent (CONTRACT §2.7): a child's read stays bounded. */
export const MAX_LINES_PER_RANGE = 10_000;

/**
 * Cuts a stream of the file's lines (each with its byte length, newline included) into ranges of at
 * most LINES_PER_BATCH non-blank lines to send, and MAX_LINES_PER_RANGE lines in all. Constant memory:
 * only the current range is held. `sends` tells which lines go out (all of them by default).
 */
export async function* rangesOf(
  lines: AsyncIterable<ReadLine>,
  sends: (read: ReadLine) => boolean = () => true,
): AsyncGenerator<LineRange & { count: number }> {
  let current: (LineRange & { count: number; sending: number }) | undefined;
  let offset = 0;
  for await (const read of lines) {
    if (!isBlank(read)) {
      current ??= { first: read.line, last: read.line, start: offset, end: offset, count: 0, sending: 0 };
      current.last = read.line;
      current.end = offset + read.bytes;
      current.count += 1;
      if (sends(read)) current.sending += 1;
    }
    offset += read.bytes;
    if (current && (current.sending === LINES_PER_BATCH || current.count === MAX_LINES_PER_RANGE)) {
      const { sending: _, ...range } = current;
      yield range;
      current = undefined;
    }
  }
  if (current) {
    const { sending: _, ...range } = current;
    yield range;
  }
}
