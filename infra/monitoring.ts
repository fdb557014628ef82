// Alarms on what needs an operator (errors, throttles, dead letters, failed workflows), sent to an
// encrypted SNS topic, and a dashboard of the function's own metrics beside them.
import { ArnFormat, Duration, Stack, Validations } from "aws-cdk-lib";
import type { RestApi } from "aws-cdk-lib/aws-apigateway";
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { IQueue } from "aws-cdk-lib/aws-sqs";
import type { IStateMachine } from "aws-cdk-lib/aws-stepfunctions";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../lambda/contract/names.ts";

export interface MonitoringProps {
  api: RestApi;
  fn: IFunction;
  /** The workflow's function: its throttles are the burst buffer at work, so only its errors alarm. */
  workflowFn: IFunction;
  jobFn: IFunction;
  /** The burst queue's consumer, and the queue: commands waiting long mean it cannot start runs. */
  queueFn: IFunction;
  burstQueue: IQueue;
  deadLetterQueue: IQueue;
  failedDeliveriesQueue: IQueue;
  stateMachine: IStateMachine;
  jobStateMachine: IStateMachine;
  alarmEmail?: string;
}

export class Monitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // CloudWatch may publish (and use the topic's key) for this account's alarms, and nothing else may.
    const fromOurAlarms = {
      StringEquals: { "aws:SourceAccount": stack.account },
      ArnLike: {
        "aws:SourceArn": stack.formatArn({
          service: "cloudwatch",
          resource: "alarm",
          resourceName: "*",
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    };
    const cloudWatch = new ServicePrincipal("cloudwatch.amazonaws.com");
    const key = new Key(this, "TopicKey", { enableKeyRotation: true, description: "Encrypts kustomer-bulk-update alarm notifications" });
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [cloudWatch],
        actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
        resources: ["*"],
        conditions: fromOurAlarms,
      }),
    );
    this.topic = new Topic(this, "Topic", { masterKey: key, enforceSSL: true });
    // The TLS-only statement replaces SNS's default policy, which would otherwise let CloudWatch publish.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: "AlarmsOfThisAccount",
        principals: [cloudWatch],
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    if (props.alarmEmail) {
      const subscription = this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: "Serverless::Serverless-SNSRedrivePolicy",
        reason:
          "An alarm email that cannot be delivered loses no data: the alarm's state stays in CloudWatch and on the dashboard, and SNS retries email delivery itself.",
      });
    }

    const fiveMinutes = Duration.minutes(5);
    const failures = (errorName: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: "Failures",
        dimensionsMap: { service: "kustomer-bulk-update", ErrorName: errorName },
        statistic: "Sum",
        period: fiveMinutes,
      });
    const alarm = (name: string, metric: IMetric, description: string, threshold = 1) => {
      const created = new Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new SnsAction(this.topic));
      return created;
    };
    this.alarms = [
      alarm("FunctionErrors", props.fn.metricErrors({ period: fiveMinutes }), "The function threw: see the Failures metric by ErrorName"),
      alarm(
        "FunctionThrottles",
        props.fn.metricThrottles({ period: fiveMinutes }),
        "Invocations were throttled by the reserved concurrency",
      ),
      alarm(
        "WorkflowFunctionErrors",
        props.workflowFn.metricErrors({ period: fiveMinutes }),
        "The workflow's function failed without answering: see its log",
      ),
      alarm(
        "JobFunctionErrors",
        props.jobFn.metricErrors({ period: fiveMinutes }),
        "A job step threw: see the job function's log and the run's results/ folder",
      ),
      alarm(
        "JobFunctionThrottles",
        props.jobFn.metricThrottles({ period: fiveMinutes }),
        "Job steps were throttled: more jobs at once than the job function's reserved concurrency",
      ),
      alarm("QueueConsumerErrors", props.queueFn.metricErrors({ period: fiveMinutes }), "The burst queue's consumer failed: see its log"),
      alarm(
        "QueuedCommandsWaiting",
        props.burstQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: "Maximum" }),
        "A command has waited in the burst queue for over 15 minutes: the consumer cannot start workflow runs (throttled, or Step Functions refuses)",
        15 * 60,
      ),
      alarm(
        "DeadLetters",
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: "Maximum" }),
        "Updates are waiting in the dead-letter queue: inspect and redrive them",
      ),
      alarm(
        "FailedDeliveries",
        props.failedDeliveriesQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: "Maximum" }),
        "Records are waiting in the failed-deliveries queue (refused commands, failed async invocations or rule deliveries): read each one",
      ),
      alarm("WorkflowFailures", props.stateMachine.metricFailed({ period: fiveMinutes }), "A bulk-update workflow execution failed"),
      alarm(
        "KustomerAuthFailures",
        failures("KustomerAuthError"),
        "Kustomer refused the API key (401 after a refresh, or 403): it was revoked, expired or lacks a role. Put a working key in the secret",
      ),
      alarm(
        "ConfigurationFailures",
        failures("ConfigurationError"),
        "The function's configuration or secret is unusable (missing, denied, malformed): see the function's log",
      ),
      // HTTP failures are answers, not errors: the function's Errors alarm never sees them.
      alarm("ApiServerErrors", props.api.metricServerError({ period: fiveMinutes, statistic: "Sum" }), "The API answered 5xx"),
      alarm(
        "JobFailures",
        props.jobStateMachine.metricFailed({ period: fiveMinutes }),
        "A large job failed (more failed batches than tolerated): its results are under results/ in the job bucket",
      ),
    ];

    const count = (metricName: string, statistic = "Sum") =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: "kustomer-bulk-update" },
        statistic,
        period: fiveMinutes,
      });
    this.dashboard = new Dashboard(this, "Dashboard", {
      widgets: [
        [
          new GraphWidget({ title: "Updates submitted", left: [count("ItemsSubmitted")], right: [count("BulkRequests")], width: 12 }),
          new GraphWidget({ title: "Kustomer retries and 429s", left: [count("Retries"), count("RateLimited")], width: 12 }),
        ],
        [
          new GraphWidget({
            title: "Failures by error name",
            left: [
              new MathExpression({
                expression: `SEARCH('{${METRICS_NAMESPACE},ErrorName,service} MetricName="Failures"', 'Sum', 300)`,
                label: "",
                period: fiveMinutes,
              }),
            ],
            width: 12,
          }),
          new AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 12 }),
        ],
        [
          // The org's budget is shared: the lowest count left shows how close the org came to 429s.
          new GraphWidget({
            title: "Org's Kustomer budget left at each answer (lowest)",
            left: [count("RateLimitRemaining", "Minimum")],
            width: 12,
          }),
          new GraphWidget({ title: "Time held back to keep the org's headroom (ms)", left: [count("HeadroomWaitMs")], width: 12 }),
        ],
        [
          // With the changes table (CONTRACT §2.7): what was not sent, and what went out instead.
          new GraphWidget({
            title: "Sending only what changed: customers not sent, fields sent",
            left: [count("CustomersUnchanged")],
            right: [count("FieldsSent")],
            width: 12,
          }),
          new GraphWidget({ title: "Changes table calls that failed (everything sent again)", left: [count("ChangesNotKept")], width: 12 }),
        ],
      ],
    });
  }
}
