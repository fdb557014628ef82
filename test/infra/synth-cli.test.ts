// `npm run synth` as an operator runs it: the pinned CDK CLI must read what this aws-cdk-lib writes,
// offline and without AWS credentials.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";

const run = promisify(execFile);

it("synthesizes the stack with the CLI, cdk-nag included", async () => {
  const output = await mkdtemp(join(tmpdir(), "kbu-synth-"));
  try {
    const environment = {
      ...process.env,
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_PROFILE: "",
      CDK_DISABLE_VERSION_CHECK: "true",
    };
    await run("npx", ["cdk", "synth", "--quiet", "--output", output], { env: environment, timeout: 120_000 });
    const template = JSON.parse(await readFile(join(output, "KustomerBulkUpdate.template.json"), "utf8"));
    expect(Object.keys(template.Resources)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^BulkUpdateFunction/), expect.stringMatching(/^JobStateMachine/)]),
    );
  } finally {
    await rm(output, { recursive: true, force: true });
  }
}, 120_000);
