// An unexpected error's stack frames, mapped to the source through the build's source maps. The
// request handler runs without --enable-source-maps, which would read every map on every cold start
// (infra/service-function.ts), so the maps are read here, and only once an error needs them.
import { readFileSync } from "node:fs";
import { SourceMap, type SourceMapping } from "node:module";
import { fileURLToPath } from "node:url";

/** `    at name (file:///var/task/chunks/chunk-X.mjs:1:2345)` or `    at file:///…:1:2`. */
const FRAME = /^\s*at (?:(.*?) \()?((?:file:\/\/|\/|node:)[^\s()]*):(\d+):(\d+)\)?$/;
const MAX_FRAMES = 10;
/** The files this execution environment has looked up: their map, or none. */
const maps = new Map<string, SourceMap | undefined>();

function mapOf(path: string): SourceMap | undefined {
  if (!maps.has(path)) {
    let map: SourceMap | undefined;
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, "utf8")));
    } catch {
      // No map beside the file (a local run from the sources): its own positions are the source's.
    }
    maps.set(path, map);
  }
  return maps.get(path);
}

function frameOf(name: string | undefined, location: string, line: number, column: number): string {
  const path = location.startsWith("file://") ? fileURLToPath(location) : location;
  // An empty object where the map has no entry for the position.
  const entry: Partial<SourceMapping> = (path.startsWith("node:") ? undefined : mapOf(path)?.findEntry(line - 1, column - 1)) ?? {};
  if (entry.originalSource === undefined || entry.originalLine === undefined || entry.originalColumn === undefined)
    return `${name ?? "<anonymous>"} (${location}:${line}:${column})`;
  // Sources are relative to the map (`../lambda/handler.ts`): the project's path reads better. The
  // minified function name would mislead, and the map names the callee, not the caller: left out.
  const source = entry.originalSource.replace(/^(?:file:\/\/)?(?:\.\.\/)+/, "");
  return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
}

/**
 * The frames of `error`'s stack, source-mapped where the build left a map. Never its message, which
 * may quote a request: frames are read only after the stack's `Name: message` header.
 */
export function sourceFrames(error: unknown): string[] {
  if (!(error instanceof Error) || typeof error.stack !== "string") return [];
  const header = String(error);
  if (!error.stack.startsWith(header)) return [];
  const frames: string[] = [];
  for (const line of error.stack.slice(header.length).split("\n")) {
    const match = FRAME.exec(line);
    if (match) frames.push(frameOf(match[1], match[2] as string, Number(match[3]), Number(match[4])));
    if (frames.length === MAX_FRAMES) break;
  }
  return frames;
}
