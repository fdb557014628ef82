// The part of madge's API tools/check-dependencies.ts uses (madge ships no types).
declare module "madge" {
  interface MadgeResult {
    /** Each circle, as the files that form it. */
    circular(): string[][];
    /** Each file and the files it imports, relative to `baseDir`. */
    obj(): Record<string, string[]>;
  }
  interface MadgeOptions {
    baseDir?: string;
    fileExtensions?: string[];
    tsConfig?: string;
    detectiveOptions?: Record<string, Record<string, unknown>>;
  }
  export default function madge(path: string | string[], options?: MadgeOptions): Promise<MadgeResult>;
}
