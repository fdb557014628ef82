// Which fields of a state's input a definition reads that no path into that state is sure to have
// written: on AWS, reading one is States.Runtime, which no Catch takes. The flow is followed as Step
// Functions documents it: a Pass or Task with Parameters and no ResultPath outputs only those; a
// ResultPath adds its top-level field (null keeps the input); a Catch adds its ResultPath's field.
// Only top-level fields are tracked, which is how the job's and the workflow's states pass data.

type Fields = Set<string>;

const topField = (path: string) => /^\$\.([^.[]+)/.exec(path)?.[1];

/** Every `$.field` a state reads: in its Parameters (and the map's reader and writer), Choices, Wait and Fail paths. */
function readsOf(state: Record<string, any>): string[] {
  const reads: string[] = [];
  const collect = (value: unknown, key = "") => {
    if (typeof value === "string" && (key.endsWith(".$") || key === "Variable" || key.endsWith("Path"))) {
      for (const match of value.matchAll(/(?<!\$)\$\.([A-Za-z_][\w-]*)/g)) reads.push(match[1] as string);
    } else if (Array.isArray(value)) value.forEach((entry) => collect(entry));
    else if (value && typeof value === "object") for (const [inner, entry] of Object.entries(value)) collect(entry, inner);
  };
  collect(state.Parameters);
  collect(state.ItemReader?.Parameters);
  collect(state.ResultWriter?.Parameters);
  collect(state.Choices);
  for (const key of ["SecondsPath", "TimestampPath", "ErrorPath", "CausePath", "ItemsPath"]) if (state[key]) collect(state[key], key);
  return reads;
}

/** The fields a state's normal output is sure to have, given its input's. */
function outputOf(state: Record<string, any>, input: Fields): Fields {
  if (state.Type === "Choice" || state.Type === "Wait") return input;
  const produced = state.Parameters
    ? new Set(Object.keys(state.Parameters).map((key) => key.replace(/\.\$$/, "")))
    : state.Result && typeof state.Result === "object"
      ? new Set(Object.keys(state.Result))
      : input;
  if (state.ResultPath === null) return input;
  if (state.ResultPath === undefined || state.ResultPath === "$") return state.Type === "Pass" ? produced : new Set();
  return new Set([...input, topField(state.ResultPath) as string]);
}

/** Each read of a field not sure to be there, as "State reads $.field". */
export function unwrittenReads(definition: Record<string, any>, input: string[]): string[] {
  const states = definition.States as Record<string, Record<string, any>>;
  const known = new Map<string, Fields>([[definition.StartAt, new Set(input)]]);
  const flow = (target: string | undefined, fields: Fields) => {
    if (!target) return false;
    const before = known.get(target);
    const after = before ? new Set([...before].filter((field) => fields.has(field))) : fields;
    if (before && after.size === before.size) return false;
    known.set(target, after);
    return true;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, state] of Object.entries(states)) {
      const fields = known.get(name);
      if (!fields) continue;
      const output = outputOf(state, fields);
      const nexts = [state.Next, state.Default, ...(state.Choices ?? []).map((choice: { Next: string }) => choice.Next)];
      for (const next of nexts) changed = flow(next, output) || changed;
      for (const caught of state.Catch ?? []) {
        const withError =
          caught.ResultPath === null ? fields : new Set([...fields, ...(caught.ResultPath ? [topField(caught.ResultPath) as string] : [])]);
        changed = flow(caught.Next, caught.ResultPath && caught.ResultPath !== "$" ? withError : new Set(["Error", "Cause"])) || changed;
      }
    }
  }
  const missing: string[] = [];
  for (const [name, state] of Object.entries(states)) {
    const fields = known.get(name);
    if (!fields) continue;
    for (const field of readsOf(state)) if (!fields.has(field)) missing.push(`${name} reads $.${field}`);
  }
  return missing;
}
