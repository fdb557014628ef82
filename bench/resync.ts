// The resync figure (CONTRACT §2.7): a file of `lines` customers, 5% of them with one field changed at
// places spread through it, sent by `npm run job` with the changes table (after a first run that
// recorded the unchanged file) and without it. Requests and bytes are counted at the sandbox.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KustomerSandbox } from "../local/kustomer-sandbox.ts";
import { customerUpdates, spread } from "../test/support/fixtures.ts";

export interface ResyncRun {
  requests: number;
  bytes: number;
  seconds: number;
  unchanged: number;
}

export interface Resync {
  lines: number;
  changed: number;
  withoutTable: ResyncRun;
  /** The first run with the table, of the file before the change: every line sent, and recorded. */
  recording: ResyncRun;
  withTable: ResyncRun;
  /** 1 - with / without. */
  fewerRequests: number;
  fewerBytes: number;
  timeRatio: number;
}

const API_KEY = "kst_bench_resync";
const CHANGED_SHARE = 0.05;

async function job(file: string, sandbox: KustomerSandbox, url: string, environment: Record<string, string>): Promise<ResyncRun> {
  sandbox.reset();
  const output = await new Promise<string>((resolve, reject) => {
    let text = "";
    const child = spawn("npm", ["run", "-s", "job", "--", file], {
      env: {
        ...process.env,
        KUSTOMER_BASE_URL: url,
        KUSTOMER_API_KEY: API_KEY,
        KUSTOMER_SECRET_ID: "",
        JOB_POLL_MS: "200",
        ...environment,
      },
      stdio: ["ignore", "pipe", "ignore"],
    });
    child.stdout.on("data", (chunk) => (text += chunk));
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`job exited with ${code}: ${text}`))));
  });
  const seconds = /in ([\d.]+) s \(peak memory/.exec(output)?.[1];
  if (!seconds) throw new Error(`no summary in: ${output}`);
  const puts = sandbox.bulkPuts;
  return {
    requests: puts.length,
    bytes: puts.reduce((sum, put) => sum + Buffer.byteLength(JSON.stringify(put.body)), 0),
    seconds: Number(seconds),
    unchanged: Number(/(\d+) unchanged/.exec(output)?.[1] ?? 0),
  };
}

export async function measureResync(lines: number, latencyMs: number): Promise<Resync> {
  const folder = await mkdtemp(join(tmpdir(), "kbu-resync-"));
  const sandbox = new KustomerSandbox({
    apiKey: API_KEY,
    rateLimitPerMinute: 1_000_000_000,
    latencyMs,
    applyAfterMs: 100,
    seed: false,
    knowsEveryCustomer: true,
  });
  const url = await sandbox.start();
  try {
    const updates = customerUpdates(lines);
    const changed = new Set(spread(Math.round(lines * CHANGED_SHARE), lines, 17));
    const before = join(folder, "before.jsonl");
    const after = join(folder, "after.jsonl");
    await writeFile(before, `${updates.map((update) => JSON.stringify(update)).join("\n")}\n`);
    await writeFile(
      after,
      `${updates.map((update, index) => JSON.stringify(changed.has(index) ? { ...update, tags: ["vip", "changed"] } : update)).join("\n")}\n`,
    );
    const withoutTable = await job(after, sandbox, url, {});
    const table = { CHANGES_TABLE_NAME: "bench-changes", LOCAL_STATE_DIR: join(folder, "dynamodb") };
    // The first run records what Kustomer applied; the second is the resync measured.
    const recording = await job(before, sandbox, url, table);
    const withTable = await job(after, sandbox, url, table);
    const ratio = (pick: (run: ResyncRun) => number) => Math.round((1 - pick(withTable) / pick(withoutTable)) * 1000) / 1000;
    return {
      lines,
      changed: changed.size,
      withoutTable,
      recording,
      withTable,
      fewerRequests: ratio((run) => run.requests),
      fewerBytes: ratio((run) => run.bytes),
      timeRatio: Math.round((withTable.seconds / withoutTable.seconds) * 100) / 100,
    };
  } finally {
    await sandbox.stop();
    await rm(folder, { recursive: true, force: true });
  }
}
