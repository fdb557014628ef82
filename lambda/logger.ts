// The one structured JSON logger (Powertools), created once per execution environment.
// Log only counts, ids, statuses and durations: never the key, never a customer's personal fields.
import { Logger } from "@aws-lambda-powertools/logger";

export const logger = new Logger({ serviceName: "kustomer-bulk-update" });

export type Log = Pick<Logger, "debug" | "info" | "warn" | "error">;
