// Names the function, the stack and their callers share: event sources and detail types, the
// workflow's task names, S3 prefixes and metric names. Changing one is a contract change.

/**
 * The source producers put on request events (CONTRACT §3.1) unless the operator names others; each
 * object's detail type is its own (objects/kustomer-object.ts).
 */
export const DEFAULT_EVENT_SOURCE = "kustomer-bulk-update.client";

/** The outcome events (CONTRACT §3.2); settings.ts keeps their source out of the request sources. */
export const OUTCOME_SOURCE = "kustomer-bulk-update";
export const COMPLETED_DETAIL_TYPE = "Customer Bulk Update Completed";
export const FAILED_DETAIL_TYPE = "Customer Bulk Update Failed";
/** The job's end, announced on the bus with the outcome events' source (CONTRACT §3.2). */
export const JOB_COMPLETED_DETAIL_TYPE = "Customer Bulk Update Job Completed";
export const JOB_FAILED_DETAIL_TYPE = "Customer Bulk Update Job Failed";

/** The workflow's LambdaInvoke tasks send `{ "custom": { "caller": WORKFLOW_CALLER } }` as client context. */
export const WORKFLOW_CALLER = "kustomer-bulk-update-workflow";
/** CheckStatus and Resubmit also name their task in the client context; Submit names none. */
export const OUTCOME_TASK = "outcome";
export const RESUBMIT_TASK = "resubmit";

/** The job bucket: job files arrive under jobs/, everything the service writes goes under results/. */
export const JOB_PREFIX = "jobs/";
/** With the changes table, a job file under here is sent whole, and refreshes what is recorded (CONTRACT §2.7). */
export const FULL_RESYNC_PREFIX = `${JOB_PREFIX}full-resync/`;
export const RESULTS_PREFIX = "results";
/** Under the job bucket's results/ prefix, which its lifecycle rule expires. */
export const OUTCOMES_PREFIX = "results/outcomes/";

/** The shared table's key prefixes: a function may touch only its own kinds of record (dynamodb:LeadingKeys). */
export const IDEMPOTENCY_KEY_PREFIX = "idempotency";
export const BULK_RECORD_KEY_PREFIX = "bulk#";
/** The status of a bulk id Kustomer does not know (CONTRACT §2.3). */
export const NOT_FOUND = "notFound";
/** The reason a failed customer carries where Kustomer gave no code of its own. */
export const REJECTED = "rejected";

/** CloudWatch namespace and metric names, shared with the stack's dashboard and alarms. */
export const METRICS_NAMESPACE = "KustomerBulkUpdate";
export const METRIC_NAMES = [
  "ItemsSubmitted",
  "BulkRequests",
  "Retries",
  "RateLimited",
  "Failures",
  "RateLimitRemaining",
  "HeadroomWaitMs",
  "BulkRecordsNotKept",
  "CustomersUnchanged",
  "FieldsSent",
  "ChangesNotKept",
] as const;
