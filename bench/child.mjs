// Runs inside a fresh Node.js process, as a Lambda execution environment would:
//   cold: import the bundle, invoke once, report ms since the process started.
//   warm: import, warm up, then time each of N invocations.
//   once: import, invoke once (after a warm-up invocation, if a warm-up event is given), report the
//         wall time and the peak RSS.
// Arguments: mode, bundle path, event file, output file, [iterations], [warm-up event file].
// Logs go to stdout, results to the file.
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [mode, bundle, eventFile, outputFile, iterations = "30", warmUpFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, "utf8"));
const context = { awsRequestId: "bench", getRemainingTimeInMillis: () => 300_000, functionName: "bench", memoryLimitInMB: "512" };
const { handler } = await import(pathToFileURL(bundle).href);
const result = {};

if (mode === "cold") {
  await handler(event, context);
  result.ms = performance.now();
} else if (mode === "warm") {
  await handler(event, context);
  result.samples = [];
  for (let i = 0; i < Number(iterations); i += 1) {
    const started = performance.now();
    await handler(event, context);
    result.samples.push(performance.now() - started);
  }
} else if (mode === "once") {
  if (warmUpFile) await handler(JSON.parse(readFileSync(warmUpFile, "utf8")), context);
  const started = performance.now();
  result.response = await handler(event, context);
  result.ms = performance.now() - started;
  result.maxRssMb = process.resourceUsage().maxRSS / 1024;
}
writeFileSync(outputFile, JSON.stringify(result));
