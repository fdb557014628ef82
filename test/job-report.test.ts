// The large job's summary step, reading what a Distributed Map's ResultWriter writes, from an S3 stub.
import { afterAll, beforeAll, expect, it } from "vitest";
import { FakeS3 } from "./support/fake-s3.ts";
import { customerUpdates } from "./support/fixtures.ts";

const s3 = new FakeS3();
let handler: (event: unknown) => Promise<any>;

beforeAll(async () => {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: await s3.start(),
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "test",
  });
  ({ handler } = await import("../lambda/job-report.ts"));
});
afterAll(() => s3.stop());

const child = (status: string, items: unknown[], output?: unknown, error?: { Error: string; Cause: string }) => ({
  ExecutionArn: "arn:aws:states:us-east-1:123456789012:execution:job/run:child",
  Status: status,
  Input: JSON.stringify({ Items: items }),
  ...(output ? { Output: JSON.stringify(output) } : {}),
  ...error,
});

it("accounts for every line: accepted batches, and failed ones with their customer ids and reasons", async () => {
  const updates = customerUpdates(250);
  const submitted = (from: number, to: number, bulkId: string) => ({
    status: "submitted",
    items: to - from,
    operations: [{ bulkId, status: "queued", items: to - from, customerIds: updates.slice(from, to).map((update) => update.id) }],
  });
  const prefix = "results/map-run-1";
  s3.objects.set(`jobs-bucket/${prefix}/SUCCEEDED_0.json`, JSON.stringify([child("SUCCEEDED", updates.slice(0, 100), submitted(0, 100, "bulk-a")), child("SUCCEEDED", updates.slice(100, 200), submitted(100, 200, "bulk-b"))]));
  s3.objects.set(
    `jobs-bucket/${prefix}/FAILED_0.json`,
    JSON.stringify([
      child("FAILED", [...updates.slice(200, 249), { name: "no id" }], undefined, {
        Error: "ValidationError",
        Cause: JSON.stringify({ errorType: "ValidationError", errorMessage: "invalid request: body[49].id: Invalid input", trace: [] }),
      }),
    ]),
  );
  s3.objects.set(
    `jobs-bucket/${prefix}/manifest.json`,
    JSON.stringify({
      DestinationBucket: "jobs-bucket",
      MapRunArn: "arn:aws:states:us-east-1:123456789012:mapRun:job/run:1",
      ResultFiles: { FAILED: [{ Key: `${prefix}/FAILED_0.json`, Size: 1 }], PENDING: [], SUCCEEDED: [{ Key: `${prefix}/SUCCEEDED_0.json`, Size: 1 }] },
    }),
  );

  const summary = await handler({ ResultWriterDetails: { Bucket: "jobs-bucket", Key: `${prefix}/manifest.json` } });
  expect(summary).toEqual({ items: 250, accepted: 200, failed: 50, report: { bucket: "jobs-bucket", key: `${prefix}/report.json` } });
  const report = JSON.parse(s3.objects.get(`jobs-bucket/${prefix}/report.json`) as string);
  expect(report).toEqual({
    items: 250,
    accepted: 200,
    failed: 50,
    bulkIds: ["bulk-a", "bulk-b"],
    failures: [
      {
        customerIds: [...updates.slice(200, 249).map((update) => update.id), "(line without an id: item 50 of its batch)"],
        error: "ValidationError",
        reason: "invalid request: body[49].id: Invalid input",
      },
    ],
  });
});

it("refuses an event that is not a Distributed Map's output", async () => {
  await expect(handler({})).rejects.toMatchObject({ name: "ValidationError" });
});

it("reports the lines a batch refused alone, beside the ones Kustomer accepted", async () => {
  const updates = customerUpdates(3);
  const prefix = "results/map-run-2";
  const output = {
    status: "submitted",
    items: 2,
    operations: [{ bulkId: "bulk-c", status: "queued", items: 2, customerIds: [updates[0]!.id, updates[2]!.id] }],
    rejected: [{ index: 1, id: updates[1]!.id, reason: "gender: Invalid option" }],
  };
  s3.objects.set(`jobs-bucket/${prefix}/SUCCEEDED_0.json`, JSON.stringify([child("SUCCEEDED", updates, output)]));
  s3.objects.set(
    `jobs-bucket/${prefix}/manifest.json`,
    JSON.stringify({ ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [{ Key: `${prefix}/SUCCEEDED_0.json`, Size: 1 }] } }),
  );
  const summary = await handler({ ResultWriterDetails: { Bucket: "jobs-bucket", Key: `${prefix}/manifest.json` } });
  expect(summary).toMatchObject({ items: 3, accepted: 2, failed: 1 });
  const report = JSON.parse(s3.objects.get(`jobs-bucket/${prefix}/report.json`) as string);
  expect(report.failures).toEqual([{ customerIds: [updates[1]!.id], error: "ValidationError", reason: "gender: Invalid option" }]);
});
