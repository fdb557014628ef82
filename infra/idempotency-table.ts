// The idempotency table (CONTRACT §2.4): one record per delivery key, and which HTTP caller received
// which bulk ids. In the stack's own scope, so it keeps its logical id.
import { RemovalPolicy, type Stack } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { BULK_RECORD_KEY_PREFIX, IDEMPOTENCY_KEY_PREFIX } from "../lambda/contract/names.ts";
import type { ServiceFunction } from "./service-function.ts";

export interface IdempotencyTableProps {
  key: IKey;
  /** The service's function: it also records and reads the bulk ids HTTP callers received. */
  fn: ServiceFunction;
  workflowFn: ServiceFunction;
}

/**
 * Each delivery applied once: Powertools Idempotency's table (partition key `id`, TTL attribute
 * `expiration`), read and written by the functions that submit, and by nothing else. It also keeps
 * which HTTP caller received which bulk ids (`bulk#` keys, 30 days), read in batches.
 */
export function createIdempotencyTable(stack: Stack, { key, fn, workflowFn }: IdempotencyTableProps): Table {
  const table = new Table(stack, "IdempotencyTable", {
    partitionKey: { name: "id", type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: "expiration",
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    // Records hold commands' results (bulk ids, customer ids): encrypted like every other such store.
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    // Records live a day, bulk ids 30 days: nothing in them outlives the stack.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // Each function touches only its own kinds of record: the idempotency records, and (HTTP calls reach
  // only the service function) the bulk ids it records and reads, in batches.
  const own = (user: ServiceFunction, actions: string[], prefixes: string[]) =>
    user.addToRolePolicy(
      new PolicyStatement({
        actions,
        resources: [table.tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": prefixes.map((prefix) => `${prefix}*`) } },
      }),
    );
  for (const submitter of [fn, workflowFn]) {
    own(submitter, ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [`${IDEMPOTENCY_KEY_PREFIX}#`]);
    submitter.addEnvironment("IDEMPOTENCY_TABLE_NAME", table.tableName);
  }
  own(fn, ["dynamodb:BatchWriteItem", "dynamodb:BatchGetItem"], [BULK_RECORD_KEY_PREFIX]);
  return table;
}
