// A job's comparison (CONTRACT §2.7), made while it plans and before it cuts batches, so that its
// requests carry only changed customers: each valid line's fields are compared with what Kustomer last
// applied, a window of 100 lines per table read. A line that cannot be compared (unreadable, invalid,
// repeated) is sent as it is, for its batch to report; a table that fails sends everything.
import type { KustomerObject } from "../contract/objects/kustomer-object.ts";
import { splitBatch } from "../contract/validation.ts";
import { type ChangeLedger, compareCommand, sentFlags } from "../core/changes.ts";
import type { Counters, Log } from "../core/ports.ts";
import { LINES_PER_BATCH, type ReadLine } from "./lines.ts";

export interface CompareOptions {
  ledger: ChangeLedger;
  /** The job file's object (objects/registry.ts objectOfJobKey); customers where absent. */
  object?: KustomerObject;
  /** Send every line, and refresh every hash. */
  fullResync: boolean;
  deadlineAt: number;
  log: Log;
  counters: Counters;
}

/** A line to send: whole, or its id and these fields only. */
export type LineChange = [line: number] | [line: number, fields: string[]];

/** A line as planned: `change` says how it goes out; absent, it is unchanged (or blank). */
export type ComparedLine = ReadLine & { change?: LineChange };

const isBlank = (read: ReadLine) => !read.unreadable && read.text.trim() === "";
/** A line whose changed fields' names run longer is sent whole: a batch's item stays well under 256 KiB. */
const MAX_FIELDS_CHARS = 1_000;

/** The lines in order, each marked; `repeated` names the lines an earlier line's customer repeats. */
export async function* compared(
  source: AsyncIterable<ReadLine>,
  repeated: (line: number) => boolean,
  options: CompareOptions,
): AsyncGenerator<ComparedLine> {
  let window: ComparedLine[] = [];
  let filled = 0;
  for await (const read of source) {
    window.push(read);
    if (!isBlank(read)) filled += 1;
    if (filled === LINES_PER_BATCH) {
      yield* await decide(window, repeated, options);
      window = [];
      filled = 0;
    }
  }
  yield* await decide(window, repeated, options);
}

async function decide(window: ComparedLine[], repeated: (line: number) => boolean, options: CompareOptions): Promise<ComparedLine[]> {
  const candidates: Array<{ read: ComparedLine; item: unknown }> = [];
  for (const read of window) {
    if (isBlank(read)) continue;
    read.change = [read.line];
    if (read.unreadable || repeated(read.line)) continue;
    try {
      candidates.push({ read, item: JSON.parse(read.text) });
    } catch {
      // Not JSON: its batch says so.
    }
  }
  if (options.fullResync || candidates.length === 0) return window;
  const { command, rejected } = splitBatch(
    candidates.map(({ item }) => item),
    options.object,
  );
  const refused = new Set(rejected.map(({ index }) => index));
  const valid = candidates.filter((_, index) => !refused.has(index));
  if (!command) return window;
  // The same comparison as a command's: a table that cannot be read sends every line whole.
  const changes = await compareCommand(command, options.ledger, options);
  const flags = sentFlags(changes.sent, command.body.length);
  let sent = 0;
  command.body.forEach((_, index) => {
    const { read } = valid[index] as (typeof valid)[number];
    if (!flags[index]) {
      read.change = undefined;
      return;
    }
    const whole = changes.customers[sent]?.whole;
    const fields = changes.fields[sent] ?? [];
    sent += 1;
    if (!whole && JSON.stringify(fields).length <= MAX_FIELDS_CHARS) read.change = [read.line, fields];
  });
  return window;
}
