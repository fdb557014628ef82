// Finding the object a request is for, among those listed (listed.ts): by the name a command gives,
// the detail type of its event, or a job file's folder. A command that names none is for customers.
import { FULL_RESYNC_PREFIX, JOB_PREFIX } from "../names.ts";
import { customer } from "./customer.ts";
import type { KustomerObject } from "./kustomer-object.ts";
import { OBJECTS } from "./listed.ts";

export { OBJECTS };

/** A command that names no object updates customers, as every command did before objects had names. */
export const DEFAULT_OBJECT: KustomerObject = customer;
if (!OBJECTS.some((object) => object.name === DEFAULT_OBJECT.name)) {
  // Every command that names no object would otherwise be refused as an error of ours.
  throw new TypeError("listed.ts must list the customer: commands that name no object are for customers");
}

/** The object a command names; the default where it names none. Undefined for a name not listed. */
export function objectNamed(name: unknown): KustomerObject | undefined {
  return name === undefined ? DEFAULT_OBJECT : OBJECTS.find((object) => object.name === name);
}

/** A checked command's object: checking refuses a name not listed, so one here is a defect. */
export function objectOf(command: { object?: string }): KustomerObject {
  const object = objectNamed(command.object);
  if (!object) throw new TypeError(`a checked command names an object not listed: ${command.object}`);
  return object;
}

/**
 * A job file's object, by its folder: `jobs/<plural>/...` (or `jobs/full-resync/<plural>/...`) for a
 * listed object; customers for any other key, as every job was before objects had names.
 */
export function objectOfJobKey(key: string): KustomerObject {
  const under = [FULL_RESYNC_PREFIX, JOB_PREFIX].find((prefix) => key.startsWith(prefix));
  const [folder, ...file] = under ? key.slice(under.length).split("/") : [];
  return (file.length > 0 && OBJECTS.find((object) => object.plural === folder)) || DEFAULT_OBJECT;
}

/** The command's field naming its object: none for the default, so a customer's command reads as it always has. */
export function namedObject(object: KustomerObject): { object?: string } {
  return object.name === DEFAULT_OBJECT.name ? {} : { object: object.name };
}

/** The object whose request events carry this detail type, if any. */
export function objectOfDetailType(detailType: unknown): KustomerObject | undefined {
  return OBJECTS.find((object) => object.detailType === detailType);
}
