// How a problem is told (CONTRACT §4.1): the path as a caller would write it, never quoting a key that
// may be data; messages capped to a line; unknown fields counted, not quoted, with the nearest of the
// object's own fields suggested.
import { editDistance } from "./edit-distance.ts";
import type { ValidationIssue } from "./errors.ts";
import type { KustomerObject } from "./objects/kustomer-object.ts";
import { DEFAULT_OBJECT, OBJECTS } from "./objects/registry.ts";
import { commandSchemaOf } from "./requests.ts";

/** A key a path may quote: a field's name, not data (an email, a phone number, a person's name). */
const NAME_LIKE = /^[\w$-]{1,64}$/;
const DIGIT_RUN = /\d{7}/;

/**
 * `body[3].emails[0].email`: the path as a caller would write it. A key that does not look like a name
 * is not quoted (`custom[…]`): an email used as a key would otherwise reach answers and log lines.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((key, index) => {
      if (typeof key === "number") return `[${key}]`;
      const name = String(key);
      if (/^[A-Za-z_$][\w$]*$/.test(name) && NAME_LIKE.test(name) && !DIGIT_RUN.test(name)) return index === 0 ? name : `.${name}`;
      return NAME_LIKE.test(name) && !DIGIT_RUN.test(name) ? `[${JSON.stringify(name)}]` : "[…]";
    })
    .join("");
}

/** A message stays a line, whatever it quotes. */
const MAX_MESSAGE_LENGTH = 300;
/**
 * Fields a misspelt key is matched against, to suggest one of ours rather than quote the caller's.
 * Not `object`: it would be suggested for `subject`, `objectId` and the like, which are no typo of it.
 */
const KNOWN_FIELDS = new Map(
  OBJECTS.map((object) => [
    object.name,
    [...Object.keys(object.update.shape), ...Object.keys(commandSchemaOf(object).shape).filter((field) => field !== "object")],
  ]),
);

export function issuesOf(
  error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }> },
  prefix: PropertyKey[] = [],
  object = DEFAULT_OBJECT,
): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: formatPath([...prefix, ...issue.path]),
    message: (issue.code === "unrecognized_keys" && issue.keys ? unknownFields(issue.keys, object) : issue.message).slice(
      0,
      MAX_MESSAGE_LENGTH,
    ),
  }));
}

/**
 * Unknown keys are counted, not quoted (they may be anything, an email included, and any number):
 * the answer names at most a few of our own fields they look like.
 */
function unknownFields(keys: string[], object: KustomerObject): string {
  const reserved = RESERVED_KEYS.filter((key) => keys.includes(key)).map((key) => `${key} is refused`);
  const suggestions = [...new Set(keys.flatMap((key) => (RESERVED_KEYS.includes(key) ? [] : (nearestField(key, object) ?? []))))].slice(
    0,
    5,
  );
  const notes = [...reserved, ...(suggestions.length ? [`did you mean ${suggestions.join(", ")}?`] : [])];
  const count = keys.length === 1 ? "an unknown field" : `${keys.length} unknown fields`;
  return `has ${count}${notes.length ? ` (${notes.join("; ")})` : ""}`;
}

/** Keys of ours, named when refused: `_clientRef` is this service's to set; `__proto__` is never a field. */
const RESERVED_KEYS = ["_clientRef", "__proto__"];

function nearestField(key: string, object: KustomerObject): string | undefined {
  if (key.length > 40) return undefined;
  const lower = key.toLowerCase();
  return KNOWN_FIELDS.get(object.name)?.find((field) => editDistance(lower, field.toLowerCase()) <= 2);
}
