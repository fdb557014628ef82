// An unexpected error's frames, as the request handler logs them without --enable-source-maps: mapped
// through the build's own source maps, and never with the error's message. Run in a plain Node.js
// process, built as the functions are: vitest maps stacks itself.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildSync } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { bundleOptions } from "../infra/bundling.ts";
import { sourceFrames } from "../lambda/platform/stack-frames.ts";

const FAILING = [
  "// a comment, so the lines move",
  "export function fail(message: string): never {",
  "  const detail = message.trim();",
  "  // the throw is on line 5",
  "  throw new TypeError(detail);",
  "}",
  "",
];

let built: string;

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "stack-frames-"));
  writeFileSync(join(dir, "failing.ts"), FAILING.join("\n"));
  writeFileSync(
    join(dir, "entry.ts"),
    [
      `import { sourceFrames } from ${JSON.stringify(resolve("lambda/platform/stack-frames.ts"))};`,
      `import { fail } from "./failing.ts";`,
      "try { fail(process.argv[2] ?? ''); } catch (error) { console.log(JSON.stringify(sourceFrames(error))); }",
    ].join("\n"),
  );
  built = join(dir, "out/entry.mjs");
  buildSync({ ...bundleOptions, entryPoints: [join(dir, "entry.ts")], outfile: built, logLevel: "warning" });
});

/** The frames the built code logs for `fail(message)`, in a process without --enable-source-maps. */
function framesOf(message: string): string[] {
  const env = { ...process.env, NODE_OPTIONS: "" };
  return JSON.parse(execFileSync(process.execPath, [built, message], { env, encoding: "utf8" }));
}

describe("sourceFrames", () => {
  it("maps the built code's frames to their source line and column", () => {
    const frames = framesOf("boom");
    expect(frames[0]).toMatch(/failing\.ts:5:9$/);
    expect(frames[1]).toMatch(/entry\.ts:3:\d+$/);
    expect(frames.join("\n")).not.toContain("entry.mjs");
  });

  it("never carries the message, even one shaped like a frame", () => {
    const frames = framesOf("ada.1@example.com\n    at forged (/var/task/ada.1@example.com:1:1)");
    expect(frames[0]).toMatch(/failing\.ts:5:9$/);
    expect(frames.join("\n")).not.toContain("ada.1@example.com");
  });

  it.each([
    ["a thrown string", "boom"],
    [
      "an error whose stack does not start with its name and message",
      Object.assign(new Error("boom"), { stack: "something else\n    at x (/var/task/handler.mjs:1:1)" }),
    ],
  ])("answers no frames for %s", (_case, thrown) => {
    expect(sourceFrames(thrown)).toEqual([]);
  });
});
