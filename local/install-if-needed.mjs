// Runs before `npm start` and `npm test`, so either works as the first command on a fresh clone:
// installs exactly the lock file when node_modules is missing or older than package-lock.json, running
// no dependency's install script (none is needed).
// Plain JavaScript with no dependencies, because it runs before there are any.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";

const modifiedAt = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
};

// npm writes node_modules/.package-lock.json on every install: its age is the install's age.
const installedAt = modifiedAt("node_modules/.package-lock.json");
const lockedAt = modifiedAt("package-lock.json");
if (installedAt === undefined || (lockedAt !== undefined && installedAt < lockedAt)) {
  console.error(installedAt === undefined ? "node_modules is missing: npm ci" : "package-lock.json is newer than node_modules: npm ci");
  const result = spawnSync("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
