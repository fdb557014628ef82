// `npm run invoke` on the sample events, each against its own fresh sandbox, and on bad arguments.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

async function invoke(...args: string[]) {
  try {
    const { stdout, stderr } = await run("npm", ["run", "-s", "invoke", "--", ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("npm run invoke", () => {
  it.each([
    ["events/direct-submit.json", { status: "submitted", items: 2 }],
    ["events/eventbridge-submit.json", { status: "submitted", items: 1 }],
    ["events/direct-dry-run.json", { status: "dryRun", items: 3 }],
    ["events/map-batch.json", { status: "submitted", items: 3 }],
  ])("runs %s", async (file, expected) => {
    const { code, stdout } = await invoke(file);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject(expected);
  });

  it("runs events/sqs-batch.json through the workflow, as on AWS, and prints each run's outcome", async () => {
    const { code, stdout, stderr } = await invoke("events/sqs-batch.json");
    expect(code).toBe(0);
    // Both records started a run; the second one's gender is invalid, so its run fails alone.
    expect(JSON.parse(stdout)).toEqual({ batchItemFailures: [] });
    const outcomes = stderr.split("\n").filter((line) => line.startsWith("Customer Bulk Update"));
    expect(outcomes.sort()).toEqual([
      expect.stringMatching(
        /^Customer Bulk Update Completed: \{"correlationId":"059f36b4-87a3-44ab-83d2-661975830a7d",.*"applied":1,"failed":0/,
      ),
      expect.stringMatching(
        /^Customer Bulk Update Failed: \{"correlationId":"2e1424d4-f796-459a-8184-9c92662be6da".*"ValidationError".*body\[0\]\.gender/,
      ),
    ]);
  }, 60_000);

  it("runs an API Gateway event and prints the HTTP response", async () => {
    const { code, stdout } = await invoke("events/http-api-put-customers-bulk.json");
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toMatchObject({ status: "submitted", items: 1 });
  });

  it("reads statuses from the command line, with no file to edit", async () => {
    const { code, stdout } = await invoke("status", "5e4c41c8c9f1ffffffffffff");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      allComplete: false,
      operations: [
        {
          bulkId: "5e4c41c8c9f1ffffffffffff",
          status: "notFound",
          successCount: null,
          failureCount: null,
          failures: [],
          inDoubtCustomerIds: [],
        },
      ],
    });
  });

  it("prints a thrown error as Step Functions would see it, and exits 1", async () => {
    const { code, stdout } = await invoke("events/direct-invalid.json");
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toEqual({ errorType: "ValidationError", errorMessage: expect.stringContaining("body[0].gender") });
  });

  it.each([
    ["no argument", [], /^usage: npm run invoke -- <event.json>/],
    ["status without an id", ["status"], /^usage: npm run invoke/],
    ["a missing file", ["events/nope.json"], /^npm run invoke: cannot read events\/nope\.json \(ENOENT\)$/],
    ["a file that is not JSON", ["README.md"], /^npm run invoke: README\.md is not valid JSON$/],
  ])("fails on %s with one clear line and exit code 2", async (_, args, line) => {
    const { code, stdout, stderr } = await invoke(...args);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")[0]).toMatch(line);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
