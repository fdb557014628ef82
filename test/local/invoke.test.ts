// `npm run invoke` on the sample events, each against its own fresh sandbox.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

async function invoke(file: string) {
  try {
    const { stdout } = await run("npm", ["run", "-s", "invoke", "--", file]);
    return { code: 0, result: JSON.parse(stdout) };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, result: JSON.parse(failed.stdout) };
  }
}

describe("npm run invoke", () => {
  it.each([
    ["events/direct-submit.json", { status: "submitted", items: 2 }],
    ["events/eventbridge-submit.json", { status: "submitted", items: 1 }],
    ["events/direct-dry-run.json", { status: "dryRun", items: 3 }],
  ])("runs %s", async (file, expected) => {
    const { code, result } = await invoke(file);
    expect(code).toBe(0);
    expect(result).toMatchObject(expected);
  });

  it("runs an API Gateway event and prints the HTTP response", async () => {
    const { code, result } = await invoke("events/http-api-put-customers-bulk.json");
    expect(code).toBe(0);
    expect(result.statusCode).toBe(202);
    expect(JSON.parse(result.body)).toMatchObject({ status: "submitted", items: 1 });
  });

  it("prints a thrown error as Step Functions would see it, and exits 1", async () => {
    const { code, result } = await invoke("events/status.json");
    expect(code).toBe(1);
    expect(result).toEqual({ errorType: "KustomerRequestError", errorMessage: expect.stringContaining("404") });
  });
});
