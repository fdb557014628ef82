// The layering, checked (npm run lint): no import circles, type-only imports included; the contract
// (lambda/contract/) imports nothing above it; and the stack (infra/) imports nothing of the function
// but the contract, so synthesis never builds a logger or a client.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import madge from "madge";

const CONTRACT = "lambda/contract/";

/** Every breach under `roots` (folders relative to `baseDir`), one line each. */
export async function dependencyProblems(baseDir: string, roots: string[]): Promise<string[]> {
  const graph = await madge(
    roots.map((root) => join(baseDir, root)),
    {
      baseDir,
      fileExtensions: ["ts"],
      // Type-only imports join modules as surely as values do.
      detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
    },
  );
  const problems = graph.circular().map((circle) => `import circle: ${[...circle, circle[0]].join(" > ")}`);
  for (const [file, imports] of Object.entries(graph.obj())) {
    for (const imported of imports) {
      if (file.startsWith("infra/") && imported.startsWith("lambda/") && !imported.startsWith(CONTRACT)) {
        problems.push(`${file} imports ${imported}: the stack may import only ${CONTRACT}`);
      }
      if (file.startsWith(CONTRACT) && !imported.startsWith(CONTRACT))
        problems.push(`${file} imports ${imported}: the contract imports nothing above it`);
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await dependencyProblems(process.cwd(), ["lambda", "infra", "local", "bench", "test", "tools"]);
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) process.exit(1);
  console.log("dependencies: no circles; infra/ imports only lambda/contract/");
}
