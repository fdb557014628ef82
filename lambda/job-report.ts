// The Lambda entry of a large job's last step: reads what the Distributed Map's ResultWriter wrote to
// S3, and writes one JSON report beside it: items, accepted, failed with their customer ids and reasons.
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import * as z from "zod";
import { ValidationError } from "./errors.ts";
import { customerIdsOf, JobReport } from "./job/report.ts";
import { logger } from "./observability.ts";
import type { SubmitResult } from "./results.ts";

const eventSchema = z.object({ ResultWriterDetails: z.object({ Bucket: z.string().min(1), Key: z.string().min(1) }) });

const manifestSchema = z.object({
  ResultFiles: z.object({
    SUCCEEDED: z.array(z.object({ Key: z.string() })).default([]),
    FAILED: z.array(z.object({ Key: z.string() })).default([]),
  }),
});

const childSchema = z.looseObject({
  Status: z.string(),
  Input: z.string().optional(),
  Output: z.string().optional(),
  Error: z.string().optional(),
  Cause: z.string().optional(),
});

let s3: S3Client | undefined;

async function readJson(bucket: string, key: string): Promise<unknown> {
  s3 ??= new S3Client({});
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return JSON.parse((await object.Body?.transformToString()) ?? "null");
}

/** Lambda hands Step Functions `{errorType, errorMessage, trace}` as the cause: keep the message. */
function reasonOf(cause: string | undefined): string {
  try {
    const parsed = JSON.parse(cause ?? "") as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === "string") return parsed.errorMessage;
  } catch {
    // Not JSON: the cause as it is.
  }
  return cause ?? "";
}

export async function handler(event: unknown): Promise<{ items: number; accepted: number; failed: number; report: { bucket: string; key: string } }> {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) throw new ValidationError("expected { ResultWriterDetails: { Bucket, Key } }, the Distributed Map's output");
  const { Bucket: bucket, Key: manifestKey } = parsed.data.ResultWriterDetails;
  const manifest = manifestSchema.parse(await readJson(bucket, manifestKey));

  const report = new JobReport();
  for (const [status, files] of Object.entries(manifest.ResultFiles)) {
    for (const file of files) {
      for (const child of z.array(childSchema).parse(await readJson(bucket, file.Key))) {
        if (status === "SUCCEEDED" && child.Output) {
          report.addAccepted(JSON.parse(child.Output) as SubmitResult);
        } else {
          const items = (JSON.parse(child.Input ?? "{}") as { Items?: unknown[] }).Items ?? [];
          report.addFailed(customerIdsOf(items), child.Error ?? "Failed", reasonOf(child.Cause));
        }
      }
    }
  }

  const key = manifestKey.replace(/manifest\.json$/, "report.json");
  const json = report.toJSON();
  s3 ??= new S3Client({});
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(json), ContentType: "application/json" }));
  logger.info("job report written", { items: json.items, accepted: json.accepted, failed: json.failed, key });
  return { items: json.items, accepted: json.accepted, failed: json.failed, report: { bucket, key } };
}
