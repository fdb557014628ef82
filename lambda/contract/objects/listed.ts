// The Kustomer objects this service updates. A second object is its definition (a file like
// customer.ts) and its line here: the routes, the request events, the checks, Kustomer's path and the
// changes table's keys all follow from this list (registry.ts looks objects up in it).
import { customer } from "./customer.ts";
import type { KustomerObject } from "./kustomer-object.ts";

export const OBJECTS: readonly KustomerObject[] = [customer];
