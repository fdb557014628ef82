// The layering, checked (npm run lint): no import circles, type-only imports included; the contract
// (lambda/contract/) imports nothing above it; the use cases (lambda/core/) import nothing but the
// contract and each other (Kustomer, the tables, the bucket, logs and metrics are ports); and the stack
// (infra/) imports nothing of the function but the contract, so synthesis never builds a logger or a
// client.
//   tsx tools/check-dependencies.ts [folder]   (the repository by default)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import madge from "madge";

const CONTRACT = "lambda/contract/";
const CORE = "lambda/core/";
/** All the use cases import of the function: the contract, and each other. */
const BENEATH_CORE = /^lambda\/(contract|core)\//;
const ROOTS = ["lambda", "infra", "local", "bench", "test", "tools"];

/** Every breach under `baseDir`'s source folders, one line each, in a stable order. */
export async function dependencyProblems(baseDir: string): Promise<string[]> {
  const roots = ROOTS.map((root) => join(baseDir, root)).filter((root) => existsSync(root));
  const graph = await madge(roots, {
    baseDir,
    fileExtensions: ["ts"],
    // Type-only imports join modules as surely as values do.
    detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
  });
  const problems = graph.circular().map((circle) => {
    // Each circle from its first file in name order, so a report reads the same every time.
    const start = circle.indexOf([...circle].sort()[0] as string);
    const ordered = [...circle.slice(start), ...circle.slice(0, start)];
    return `import circle: ${[...ordered, ordered[0]].join(" > ")}`;
  });
  for (const [file, imports] of Object.entries(graph.obj())) {
    for (const imported of imports) {
      if (file.startsWith("infra/") && imported.startsWith("lambda/") && !imported.startsWith(CONTRACT)) {
        problems.push(`${file} imports ${imported}: the stack may import only ${CONTRACT}`);
      }
      if (file.startsWith(CONTRACT) && !imported.startsWith(CONTRACT))
        problems.push(`${file} imports ${imported}: the contract imports nothing above it`);
      if (file.startsWith(CORE) && imported.startsWith("lambda/") && !BENEATH_CORE.test(imported))
        problems.push(`${file} imports ${imported}: the use cases reach adapters through their ports`);
    }
  }
  return problems.sort();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await dependencyProblems(process.argv[2] ?? process.cwd());
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log("dependencies: no circles; lambda/core/ imports only lambda/contract/; infra/ imports only lambda/contract/");
}
