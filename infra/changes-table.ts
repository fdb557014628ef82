// The changes table (CONTRACT §2.7), made only when `sendOnlyChanges` is set: what Kustomer last
// applied, per customer and field, so that each submitting function sends only what changed. Keyed
// by object type and id (`customer#<id>`), so a second object type fits beside the first; records
// expire after `changesTtlDays`, so a value changed inside Kustomer is restored at least that often.
import { type Duration, RemovalPolicy } from "aws-cdk-lib";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { Construct } from "constructs";
import { OBJECTS } from "../lambda/contract/objects/registry.ts";
import type { ServiceFunction } from "./service-function.ts";

export interface ChangesTableProps {
  /** The functions that submit and follow up: each reads and writes customers' records, and nothing else. */
  functions: ServiceFunction[];
  key: IKey;
  ttl: Duration;
}

export class ChangesTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: ChangesTableProps) {
    super(scope, id);
    this.table = new Table(this, "Table", {
      partitionKey: { name: "id", type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "expiration",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Hashes of personal data: short, salted by nothing, so kept under the stack's key like the data.
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.key,
      // Derived state: losing it costs one full resync, never a wrong answer.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const fn of props.functions) {
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ["dynamodb:BatchGetItem", "dynamodb:UpdateItem", "dynamodb:PutItem"],
          resources: [this.table.tableArn],
          conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": OBJECTS.map((object) => `${object.changesKeyPrefix}*`) } },
        }),
      );
      fn.addEnvironment("CHANGES_TABLE_NAME", this.table.tableName);
      fn.addEnvironment("CHANGES_TTL_DAYS", String(props.ttl.toDays()));
    }
  }
}
