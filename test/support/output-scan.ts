// Every line the code under test writes, in every test file, is scanned for the API keys and the
// personal data of the fixtures. A leak anywhere fails the file that produced it.
import { afterAll, expect } from "vitest";
import { SENSITIVE } from "./fixtures.ts";

const leaks: string[] = [];

export function scanOutput(text: string): void {
  for (const line of text.split("\n")) {
    if (SENSITIVE.some((pattern) => (typeof pattern === "string" ? line.includes(pattern) : pattern.test(line)))) leaks.push(line);
  }
}

for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    scanOutput(String(chunk));
    return write(chunk, ...rest);
  }) as typeof stream.write;
}

afterAll(() => {
  expect(leaks, "log lines holding a key or personal data").toEqual([]);
});
