// What AWS does for a Distributed Map state, which the ASL interpreter lacks, emulated from AWS's
// documentation (Step Functions developer guide: "Map state in Distributed mode", "ItemReader",
// "ItemSelector", "ResultWriter", "Tolerated failure threshold"):
// - the ItemReader reads a JSON array from S3 (GetObject) through the real S3 client;
// - each item, through the ItemSelector ($$.Map.Item.Value / Index, or the item itself), is the input
//   of a child execution of the ItemProcessor, at most MaxConcurrency at once;
// - a run fails with States.ExceedToleratedFailureThreshold once failed / items exceeds
//   ToleratedFailurePercentage (or ToleratedFailureCount); children not started are PENDING;
// - the ResultWriter writes <Prefix>/<MapRunId>/manifest.json and SUCCEEDED_0.json, FAILED_0.json,
//   PENDING_0.json (each only when it has entries), with the documented fields;
// - the state's result is { MapRunArn, ResultWriterDetails: { Bucket, Key } }.
// The map state is replaced by a Task state bound to this emulator, keeping the map's Retry, Catch,
// ResultPath, ResultSelector, InputPath, OutputPath and Next/End, so the interpreter applies them.
import { randomUUID } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";

const EMULATED = "arn:aws:states:::emulated:distributedMap";
const ACCOUNT = "123456789012";

export interface ChildExecution {
  Status: "SUCCEEDED" | "FAILED";
  Output?: unknown;
  Error?: string;
  Cause?: string;
  /** History events the child's execution recorded. */
  history: number;
  /** Its largest state input or output, in bytes. */
  largestState: number;
}

/** What one map run did, for the tests' and the bench's checks. */
export interface MapRunRecord {
  state: string;
  mapRunArn: string;
  items: number;
  succeeded: number;
  failed: number;
  pending: number;
  /** The most children that ran at once. */
  peakConcurrency: number;
  maxChildHistory: number;
  largestChildState: number;
  largestChildInput: number;
}

export interface DistributedMapOptions {
  stateMachineName: string;
  executionName: string;
  /** Runs one child execution of the ItemProcessor on its input. */
  runChild: (processor: Record<string, any>, input: unknown, name: string) => Promise<ChildExecution>;
  s3?: S3Client;
  onMapRun?: (record: MapRunRecord) => void;
}

class StatesError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

/** A JSONPath of the simple kind ASL uses ($.a.b, $$.Map.Item.Value.c), read from a root. */
function read(root: unknown, path: string): unknown {
  const parts = path
    .replace(/^\$\$?\.?/, "")
    .split(".")
    .filter(Boolean);
  return parts.reduce<unknown>((value, part) => (value as Record<string, unknown> | undefined)?.[part], root);
}

/** The ItemSelector applied to one item: `.$` keys read the map's input ($) or the item's context ($$). */
function select(selector: unknown, input: unknown, item: { Index: number; Value: unknown }): unknown {
  if (Array.isArray(selector)) return selector.map((entry) => select(entry, input, item));
  if (typeof selector !== "object" || selector === null) return selector;
  return Object.fromEntries(
    Object.entries(selector).map(([key, value]) => {
      if (!key.endsWith(".$")) return [key, select(value, input, item)];
      const path = value as string;
      return [key.slice(0, -2), path.startsWith("$$.") ? read({ Map: { Item: item } }, path) : read(input, path)];
    }),
  );
}

async function getJson(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString()) ?? "null");
}

/** The definition with each Distributed Map replaced by a Task bound to the emulator, and those bindings. */
export function emulateDistributedMaps(definition: Record<string, any>, options: DistributedMapOptions) {
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const states: Record<string, any> = {};
  for (const [name, state] of Object.entries(definition.States as Record<string, any>)) {
    if (state.Type !== "Map" || state.ItemProcessor?.ProcessorConfig?.Mode !== "DISTRIBUTED") {
      states[name] = state;
      continue;
    }
    const {
      ItemReader,
      ItemSelector,
      ItemProcessor,
      ResultWriter,
      MaxConcurrency = 0,
      ToleratedFailurePercentage,
      ToleratedFailureCount,
      Label,
    } = state;
    // The interpreter resolves the reader's and writer's paths against the state's input.
    states[name] = {
      Type: "Task",
      Resource: EMULATED,
      Parameters: {
        "input.$": "$",
        reader: ItemReader?.Parameters ?? {},
        ...(ResultWriter?.Parameters ? { writer: ResultWriter.Parameters } : {}),
      },
      ...Object.fromEntries(
        ["Retry", "Catch", "ResultPath", "ResultSelector", "InputPath", "OutputPath", "Next", "End"]
          .filter((field) => field in state)
          .map((field) => [field, state[field]]),
      ),
    };
    handlers[name] = async ({ input, reader, writer }: any) => {
      const s3 = options.s3 ?? new S3Client({});
      if (ItemReader?.Resource !== "arn:aws:states:::s3:getObject" || ItemReader.ReaderConfig?.InputType !== "JSON") {
        throw new StatesError("States.Runtime", "the emulator reads JSON arrays from S3 only");
      }
      let items = await getJson(s3, reader.Bucket, reader.Key);
      if (ItemReader.ReaderConfig.ItemsPointer) items = read(items, ItemReader.ReaderConfig.ItemsPointer.replaceAll("/", "."));
      if (!Array.isArray(items)) throw new StatesError("States.ItemReaderFailed", "the ItemReader's object is not a JSON array");
      const mapRunId = randomUUID();
      const mapRunArn = `arn:aws:states:us-east-1:${ACCOUNT}:mapRun:${options.stateMachineName}/${Label ?? name}:${mapRunId}`;
      const childMachineArn = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:${options.stateMachineName}/${Label ?? name}`;
      const record: MapRunRecord = {
        state: name,
        mapRunArn,
        items: items.length,
        succeeded: 0,
        failed: 0,
        pending: 0,
        peakConcurrency: 0,
        maxChildHistory: 0,
        largestChildState: 0,
        largestChildInput: 0,
      };
      const results: Record<"SUCCEEDED" | "FAILED" | "PENDING", Array<Record<string, unknown>>> = {
        SUCCEEDED: [],
        FAILED: [],
        PENDING: [],
      };
      const tooManyFailed = () =>
        (ToleratedFailureCount !== undefined && record.failed > ToleratedFailureCount) ||
        (record.failed > 0 && (record.failed / items.length) * 100 > (ToleratedFailurePercentage ?? 0));

      let next = 0;
      let running = 0;
      const limit = MaxConcurrency > 0 ? MaxConcurrency : 1000;
      const worker = async () => {
        while (next < items.length && !tooManyFailed()) {
          const index = next++;
          const childInput = ItemSelector ? select(ItemSelector, input, { Index: index, Value: items[index] }) : items[index];
          const childName = randomUUID();
          const inputText = JSON.stringify(childInput);
          record.largestChildInput = Math.max(record.largestChildInput, Buffer.byteLength(inputText));
          const entry: Record<string, unknown> = {
            ExecutionArn: `arn:aws:states:us-east-1:${ACCOUNT}:execution:${options.stateMachineName}/${Label ?? name}:${childName}`,
            Input: inputText,
            InputDetails: { Included: true },
            Name: childName,
            StartDate: new Date().toISOString(),
            StateMachineArn: childMachineArn,
            RedriveCount: 0,
          };
          running += 1;
          record.peakConcurrency = Math.max(record.peakConcurrency, running);
          const child = await options.runChild(ItemProcessor, childInput, childName);
          running -= 1;
          record.maxChildHistory = Math.max(record.maxChildHistory, child.history);
          record.largestChildState = Math.max(record.largestChildState, child.largestState);
          entry.StopDate = new Date().toISOString();
          entry.Status = child.Status;
          if (child.Status === "SUCCEEDED") {
            Object.assign(entry, {
              Output: JSON.stringify(child.Output),
              OutputDetails: { Included: true },
              RedriveStatus: "NOT_REDRIVABLE",
            });
            record.succeeded += 1;
          } else {
            Object.assign(entry, {
              Error: child.Error,
              Cause: child.Cause,
              OutputDetails: { Included: true },
              RedriveStatus: "REDRIVABLE_BY_MAP_RUN",
            });
            record.failed += 1;
          }
          results[child.Status].push(entry);
        }
      };
      await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
      // Children the run never started, because it failed first.
      for (let index = next; index < items.length; index += 1) {
        const childInput = ItemSelector ? select(ItemSelector, input, { Index: index, Value: items[index] }) : items[index];
        results.PENDING.push({ Input: JSON.stringify(childInput), InputDetails: { Included: true }, Status: "PENDING" });
        record.pending += 1;
      }

      let details: { Bucket: string; Key: string } | undefined;
      if (writer) {
        const base = `${String(writer.Prefix ?? "").replace(/\/$/, "")}/${mapRunId}`.replace(/^\//, "");
        const files: Record<string, Array<{ Key: string; Size: number }>> = { FAILED: [], PENDING: [], SUCCEEDED: [] };
        for (const status of ["SUCCEEDED", "FAILED", "PENDING"] as const) {
          if (results[status].length === 0) continue;
          const body = JSON.stringify(results[status]);
          const Key = `${base}/${status}_0.json`;
          await s3.send(new PutObjectCommand({ Bucket: writer.Bucket, Key, Body: body }));
          files[status]?.push({ Key, Size: Buffer.byteLength(body) });
        }
        const manifestKey = `${base}/manifest.json`;
        await s3.send(
          new PutObjectCommand({
            Bucket: writer.Bucket,
            Key: manifestKey,
            Body: JSON.stringify({ DestinationBucket: writer.Bucket, MapRunArn: mapRunArn, ResultFiles: files }),
          }),
        );
        details = { Bucket: writer.Bucket, Key: manifestKey };
      }
      options.onMapRun?.(record);
      if (tooManyFailed())
        throw new StatesError("States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded");
      return details
        ? { MapRunArn: mapRunArn, ResultWriterDetails: details }
        : results.SUCCEEDED.map((entry) => JSON.parse(entry.Output as string));
    };
  }
  return { definition: { ...definition, States: states }, handlers };
}
