// What the function answers: the submit result, the status result and, for HTTP callers, errors.
// The function itself imports only the types from here (so none of this is in its bundle); the
// OpenAPI document is generated from the schemas.
import * as z from "zod";
import { REJECTED } from "./names.ts";

export const operationSchema = z.object({
  bulkId: z.string().nullable().meta({ description: "Kustomer's bulk operation id; null in a dry run, or when the request is in doubt" }),
  status: z
    .string()
    .meta({ description: "queued, running or complete (planned in a dry run); inDoubt when it may have reached Kustomer unanswered" }),
  items: z.number().int(),
  customerIds: z.array(z.string()),
  reason: z.optional(z.string()).meta({ description: "an inDoubt operation's cause: the error's name and message" }),
  fields: z.optional(z.array(z.array(z.string()))).meta({
    description: "a dry run with the changes table (CONTRACT §2.7): each customer's fields that would be sent, in customerIds' order",
  }),
});

export const submitResultSchema = z.object({
  status: z.enum(["submitted", "dryRun"]),
  correlationId: z.string().optional().meta({ description: "the command's correlationId, when it has one" }),
  items: z.number().int(),
  unchanged: z.number().int().optional().meta({
    description: "with the changes table (CONTRACT §2.7): customers not sent, since Kustomer already holds their values",
  }),
  operations: z.array(operationSchema),
  inDoubtCustomerIds: z.array(z.string()).optional().meta({
    description:
      "customers whose request may have reached Kustomer with no answer saying what became of it (CONTRACT §2.6): re-sending them is safe",
  }),
  rejected: z
    .array(z.object({ index: z.number().int(), id: z.string().optional(), reason: z.string() }))
    .optional()
    .meta({ description: "a large job's batch only: its lines that could not be sent, each failing alone" }),
});

export const customerFailureSchema = z.object({
  id: z.string().nullable(),
  error: z.string().meta({
    description: `Kustomer's error code when it gives one (letters, digits and _.:-, at most 64), else "${REJECTED}"`,
  }),
  detail: z.optional(z.string()).meta({
    description: "Kustomer's own words, with emails and phone numbers masked: in status reads, reports and failure lists, never in events",
  }),
});

export const operationStatusSchema = z.object({
  bulkId: z.string(),
  status: z.string().meta({
    description:
      "queued, running or complete; notFound for an id Kustomer does not know; pending for one this service recorded that Kustomer does not know yet; inDoubt for one Kustomer stopped reporting (its customers listed in inDoubtCustomerIds)",
  }),
  successCount: z.number().int().nullable().meta({ description: "null until the operation is complete" }),
  failureCount: z.number().int().nullable(),
  failures: z.array(customerFailureSchema),
  inDoubtCustomerIds: z.array(z.string()).meta({
    description:
      "a complete operation's customers its answer does not account for (CONTRACT §2.6): neither named nor left no choice by its counts",
  }),
});

export const statusResultSchema = z.object({
  allComplete: z.boolean().meta({ description: "every operation complete, or in doubt: nothing more will be learned" }),
  operations: z.array(operationStatusSchema),
  // The count set (CONTRACT §2.6), once allComplete: every customer of these operations counted once.
  items: z.number().int().optional(),
  applied: z.number().int().optional(),
  failed: z.number().int().optional(),
  inDoubt: z.number().int().optional(),
  unsent: z.number().int().optional(),
  unchanged: z.number().int().optional(),
});

/** What the workflow reads between its status checks (CONTRACT §3.2): the sums over every operation. */
export const outcomeResultSchema = z.object({
  allComplete: z.boolean(),
  incomplete: z.array(z.object({ bulkId: z.string(), status: z.string() })).meta({ description: "the operations not complete yet" }),
  seen: z
    .array(z.string().nullable())
    .meta({ description: "each request's operation status as read now (null for a request in doubt): the next read's `seen`" }),
  applied: z.number().int().meta({ description: "customers Kustomer accounts for as updated: named, or left no choice by its counts" }),
  failed: z.number().int(),
  inDoubt: z
    .number()
    .int()
    .meta({ description: "customers whose fate no answer names: left in doubt by the submit, or by a complete operation (CONTRACT §2.6)" }),
  failures: z.array(customerFailureSchema).meta({ description: "at most 1,000 (and 100 KB); all of them when failuresObject is absent" }),
  failuresObject: z.string().optional().meta({ description: "s3:// location of the whole failure list, when it is longer" }),
  inDoubtCustomerIds: z.array(z.string()).meta({ description: "at most 1,000; all of them when inDoubtCustomerIdsObject is absent" }),
  inDoubtCustomerIdsObject: z.string().optional(),
});

export const errorResponseSchema = z.object({
  error: z.object({
    name: z.enum([
      "ValidationError",
      "NotFoundError",
      "IdempotencyConflictError",
      "IdempotencyUnavailableError",
      "ConfigurationError",
      "SecretUnavailableError",
      "KustomerAuthError",
      "KustomerRequestError",
      "KustomerRateLimitError",
      "KustomerUnavailableError",
      "InternalError",
    ]),
    message: z.string(),
    issues: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .max(100)
      .optional(),
    /** Every issue found; `issues` lists the first 100. */
    issueCount: z.number().int().min(0).max(1_000_000).optional(),
    kustomer: z.object({ status: z.number().int(), errors: z.array(z.record(z.string(), z.unknown())) }).optional(),
    acceptedBulkIds: z.array(z.string()).optional(),
    inDoubtCustomerIds: z.array(z.string()).optional(),
    unsentCustomerIds: z.array(z.string()).optional(),
  }),
});

export type Operation = z.infer<typeof operationSchema>;
export type SubmitResult = z.infer<typeof submitResultSchema>;
export type CustomerFailure = z.infer<typeof customerFailureSchema>;
export type OperationStatus = z.infer<typeof operationStatusSchema>;
export type StatusResult = z.infer<typeof statusResultSchema>;
export type OutcomeResult = z.infer<typeof outcomeResultSchema>;
