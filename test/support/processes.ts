// Helpers for tests that run the project's commands as a person would.
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { scanOutput } from "./output-scan.ts";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts a command and resolves once its output contains `ready`. */
export async function startUntil(command: string, args: string[], environment: Record<string, string>, ready: string, timeoutMs = 30_000) {
  // Its own process group, so stopping it also stops what npm started under it.
  const child: ChildProcess = spawn(command, args, {
    env: { ...process.env, ...environment },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk;
    scanOutput(String(chunk));
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs / 1000} s:\n${output}`)), timeoutMs);
    const check = () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", check);
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signal === "SIGINT" ? 2 : 15) : null))),
  );
  return {
    output: () => output,
    /** The exit code: a signal's is 128 + its number, as a shell reports it. */
    exited,
    /** The command's own process only, as an IDE's stop button or `kill $!` does. */
    signalLeader: (signal: NodeJS.Signals) => child.pid && process.kill(child.pid, signal),
    stop: () => {
      if (child.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
    },
  };
}

/** Whether nothing listens on the port any more. */
export async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
