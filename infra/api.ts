// The HTTP API: a regional REST API whose routes (lambda/contract/routes.ts) all invoke the
// function, throttled to the org's Kustomer budget, with callers signed by IAM or, for callers
// outside AWS, API keys behind a WAF rate-based rule. The function validates every body itself.
import { Validations } from "aws-cdk-lib";
import {
  AccessLogFormat,
  AuthorizationType,
  Cors,
  EndpointType,
  type IApiKey,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  ResponseType,
  RestApi,
} from "aws-cdk-lib/aws-apigateway";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { CfnWebACL } from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";
import { API_STAGE, HTTP_ROUTES } from "../lambda/contract/routes.ts";
import { limitEachAddress, onlyCallers } from "./api-guards.ts";

export interface BulkUpdateApiProps {
  /** The function every route invokes. */
  fn: IFunction;
  /** The org's Kustomer budget per minute: the stage, and each API key, get its share per second. */
  kustomerRateLimitPerMinute: number;
  /**
   * Callers outside AWS: every method requires an API key bound to a throttled usage plan, behind a
   * WAF rate-based rule per address.
   * @default false - callers sign with SigV4 and need execute-api:Invoke
   */
  apiKeyAuth?: boolean;
  /**
   * With apiKeyAuth: one API key and usage plan per named caller, each with its own daily quota, so a
   * leaked key is one caller's to revoke.
   * @default - one caller, "default"
   */
  apiKeyCallers?: string[];
  /**
   * Without apiKeyAuth: the only roles that may call. API Gateway lets a same-account call through
   * when either the identity or the resource policy allows it, so the resource policy denies every
   * other principal.
   * @default - any principal whose IAM allows execute-api:Invoke
   */
  callerRoleArns?: string[];
  /**
   * Browser origins allowed to call, with their CORS preflight.
   * @default - none: no preflight is answered
   */
  corsAllowOrigins?: string[];
  /** Encrypts the access logs. */
  logsKey: IKey;
}

/**
 * The REST API itself, so that it keeps the construct path, and with it the logical ids and the URL,
 * it had when the stack built it inline. What it adds beside itself (access logs, WAF) is named
 * after it in its scope, for the same reason.
 */
export class BulkUpdateApi extends RestApi {
  readonly accessLogs: LogGroup;
  /** With apiKeyAuth: each caller's key, by caller. */
  readonly apiKeys: ReadonlyMap<string, IApiKey> = new Map();
  /** With apiKeyAuth: the rate-based rule in front of the stage. */
  readonly webAcl?: CfnWebACL;

  constructor(scope: Construct, id: string, props: BulkUpdateApiProps) {
    checkProps(props);
    const requestsPerSecond = Math.max(1, Math.floor(props.kustomerRateLimitPerMinute / 60));
    const accessLogs = new LogGroup(scope, `${id}AccessLogs`, { retention: RetentionDays.THREE_MONTHS, encryptionKey: props.logsKey });

    // 1. The API and its stage.
    super(scope, id, {
      restApiName: "kustomer-bulk-update",
      description: "Bulk customer updates for Kustomer",
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: true,
      deployOptions: {
        stageName: API_STAGE,
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Request and response bodies hold personal data: never log them.
        dataTraceEnabled: false,
        // Each call may carry up to 100 Kustomer requests; the function paces itself, the API caps callers.
        throttlingRateLimit: requestsPerSecond,
        throttlingBurstLimit: requestsPerSecond * 2,
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
      },
      defaultMethodOptions: props.apiKeyAuth
        ? { authorizationType: AuthorizationType.NONE, apiKeyRequired: true }
        : { authorizationType: AuthorizationType.IAM },
      ...(props.callerRoleArns?.length ? { policy: onlyCallers(props.callerRoleArns) } : {}),
      ...(props.corsAllowOrigins?.length
        ? {
            defaultCorsPreflightOptions: {
              allowOrigins: props.corsAllowOrigins,
              allowMethods: ["GET", "PUT"],
              allowHeaders: [...Cors.DEFAULT_HEADERS, "Idempotency-Key"],
            },
          }
        : {}),
    });
    this.accessLogs = accessLogs;

    // 2. Every route to the function, whose answers are the only ones callers see.
    this.routeTo(props.fn);

    // 3. Who may call.
    if (props.apiKeyAuth) {
      this.apiKeys = this.offerApiKeys(requestsPerSecond, props.apiKeyCallers ?? [DEFAULT_CALLER]);
      this.webAcl = limitEachAddress(scope, id, this.deploymentStage.stageArn, requestsPerSecond);
    } else {
      Validations.of(this).acknowledge({
        id: "AwsSolutions::AwsSolutions-APIG3",
        reason:
          "Every method requires a SigV4 signature from an AWS principal with execute-api:Invoke, and the stage throttles to the org's Kustomer budget; anonymous traffic never reaches the function. The organisation may still attach a WAF web ACL.",
      });
    }
    this.acknowledgeDesign(props.apiKeyAuth ?? false);
  }

  private routeTo(fn: IFunction): void {
    // No body model at the edge: the function's own validation answers every caller with its paths
    // and limits (413, 415), and the gateway's own refusals take the same JSON shape.
    for (const [id, type] of [
      ["Default4xx", ResponseType.DEFAULT_4XX],
      ["Default5xx", ResponseType.DEFAULT_5XX],
    ] as const) {
      this.addGatewayResponse(id, {
        type,
        templates: { "application/json": '{"error":{"name":"$context.error.responseType","message":$context.error.messageString}}\n' },
      });
    }
    // The console's test invocations would bypass the API's authorization.
    const integration = new LambdaIntegration(fn, { allowTestInvoke: false });
    // Parameters only: the route's own shape, which the function cannot get wrong either way.
    const requestValidator = this.addRequestValidator("ParameterValidator", { validateRequestParameters: true });
    for (const route of HTTP_ROUTES) {
      const pathParameters = [...route.resource.matchAll(/\{(\w+)\}/g)].map((match) => [`method.request.path.${match[1]}`, true]);
      const query = route.query.map((name) => [`method.request.querystring.${name}`, false]);
      this.root.resourceForPath(route.resource).addMethod(route.method, integration, {
        requestValidator,
        requestParameters: Object.fromEntries([...pathParameters, ...query]),
      });
    }
  }

  private offerApiKeys(requestsPerSecond: number, callers: string[]): Map<string, IApiKey> {
    Validations.of(this).acknowledge({
      id: "AwsSolutions::AwsSolutions-APIG4",
      reason:
        "apiKeyAuth was chosen for callers outside AWS: every method requires an API key bound to a throttled usage plan, behind a WAF rate-based rule. IAM (SigV4) is the default.",
    });
    const keys = new Map<string, IApiKey>();
    for (const caller of callers) {
      const suffix = callerSuffix(caller);
      const plan = this.addUsagePlan(`UsagePlan${suffix}`, {
        throttle: { rateLimit: requestsPerSecond, burstLimit: requestsPerSecond * 2 },
        // A day of the stage's rate: one caller cannot spend more than the org's budget allows.
        quota: { limit: requestsPerSecond * 86_400, period: Period.DAY },
        apiStages: [{ api: this, stage: this.deploymentStage }],
      });
      const key = this.addApiKey(`CallerKey${suffix}`, { description: `kustomer-bulk-update caller: ${caller}` });
      plan.addApiKey(key);
      keys.set(caller, key);
    }
    return keys;
  }

  private acknowledgeDesign(apiKeyAuth: boolean): void {
    Validations.of(this).acknowledge({
      id: "AwsSolutions::AwsSolutions-APIG2",
      reason:
        "The function validates every body completely before anything is sent, and answers with each issue's path, 413 and 415; a gateway body model would refuse some bodies with a different, pathless answer.",
    });
    Validations.of(this).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      reason: "API Gateway's account-level logging role: AWS's own policy for exactly this purpose, needed for the stage's execution logs.",
    });
    Validations.of(this).acknowledge({
      id: "AwsSolutions::AwsSolutions-COG4",
      reason: apiKeyAuth
        ? "Callers are systems outside AWS identified by an API key with a usage plan (the apiKeyAuth option); there are no end users to pool."
        : "Callers are AWS principals authorised by IAM (SigV4), which is stronger here than a Cognito user pool: there are no end users.",
    });
  }
}

function checkProps(props: BulkUpdateApiProps): void {
  if (!Number.isInteger(props.kustomerRateLimitPerMinute) || props.kustomerRateLimitPerMinute < 1) {
    throw new Error(
      `BulkUpdateApi: kustomerRateLimitPerMinute must be a whole number of requests of at least 1, not ${props.kustomerRateLimitPerMinute}`,
    );
  }
  for (const origin of props.corsAllowOrigins ?? []) {
    if (origin !== "*" && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new Error(
        `BulkUpdateApi: corsAllowOrigins entries are origins such as https://ops.example.com (scheme and host, no path), not ${JSON.stringify(origin)}`,
      );
    }
    // A browser page that sends an API key publishes it: only named https origins may.
    if (props.apiKeyAuth && (origin === "*" || origin.startsWith("http://"))) {
      throw new Error(
        `BulkUpdateApi: with apiKeyAuth, corsAllowOrigins must name https origins, not ${JSON.stringify(origin)}: a page that sends the key publishes it`,
      );
    }
  }
  if (props.apiKeyAuth && props.callerRoleArns?.length) {
    throw new Error("BulkUpdateApi: callerRoleArns names IAM callers; with apiKeyAuth callers are API keys (apiKeyCallers)");
  }
  // A browser's preflight carries no signature, so the callers' Deny would refuse it too.
  if (props.callerRoleArns?.length && props.corsAllowOrigins?.length) {
    throw new Error(
      "BulkUpdateApi: callerRoleArns and corsAllowOrigins cannot go together: a CORS preflight is unsigned, and the resource policy would refuse it",
    );
  }
  for (const caller of props.apiKeyCallers ?? []) {
    if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(caller))
      throw new Error(`BulkUpdateApi: apiKeyCallers are names of lowercase letters, digits and -, not ${JSON.stringify(caller)}`);
  }
}

/** The caller of the one key a stack without apiKeyCallers offers. */
const DEFAULT_CALLER = "default";

/** What a caller's resources' ids end in; the default caller keeps the ids one shared key had, so an upgrade keeps it. */
export function callerSuffix(caller: string): string {
  return caller === DEFAULT_CALLER ? "" : caller.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, letter: string) => letter.toUpperCase());
}
