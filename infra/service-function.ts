// Any function of this service (the bulk update, the workflow's tasks, the job's steps) with the house
// defaults fixed once: Node.js 22 on arm64, the code built by infra/bundling.ts (one asset for every
// function of the stack), tracing, the secrets extension, and a log group with retention.
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import {
  Architecture,
  Code,
  Function as LambdaFunction,
  ParamsAndSecretsLayerVersion,
  ParamsAndSecretsLogLevel,
  ParamsAndSecretsVersions,
  Runtime,
  Tracing,
} from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { buildFunctions, type FunctionEntry } from "./bundling.ts";

export interface ServiceFunctionProps {
  environment: Record<string, string>;
  reservedConcurrentExecutions?: number;
  /**
   * The built entry it runs.
   * @default "handler" (lambda/handler.ts)
   */
  entry?: FunctionEntry;
  memorySize?: number;
  timeout?: Duration;
  /** Encrypts the function's log group. */
  logsKey: IKey;
}

/**
 * Sizing: a 10,000-item command is 100 Kustomer requests sent in order; at a few hundred ms each,
 * plus waits for rate-limit resets, five minutes leaves room (the function never waits past its own
 * deadline). 512 MB: validating and serialising 10,000 items is CPU work, and Lambda's CPU share
 * grows with memory; the memory itself is far more than the items need (bench/README.md: a 10,000-item
 * command peaks under 100 MB, even at a 128 MB function's heap limits).
 */
export const FUNCTION_TIMEOUT = Duration.minutes(5);
export const FUNCTION_MEMORY_MB = 512;
/**
 * Node.js's `--enable-source-maps` reads the source map of every file it loads, at load: 5 to 10 ms of
 * a request's cold start (bench/README.md). The job's steps throw to Step Functions, whose Cause
 * carries the trace, so there it pays. The request handler never lets a stack out: it logs an
 * unexpected error's frames, mapped only then (lambda/platform/stack-frames.ts).
 */
export const NODE_OPTIONS: Record<FunctionEntry, string | undefined> = {
  handler: undefined,
  "workflow-handler": undefined,
  "queue-handler": undefined,
  "job-handler": "--enable-source-maps",
};

/**
 * The AWS Parameters and Secrets Lambda Extension serves the key over localhost, so a cold start does
 * not load the SDK. Its cache keeps the secret as long as the function's own (SECRET_TTL_SECONDS'
 * default), so a rotated key is picked up within twice that at worst, or at once after a 401, which
 * goes to Secrets Manager directly (lambda/adapters/aws/secrets.ts).
 */
export const SECRETS_EXTENSION_PORT = 2773;
/** The newest the pinned aws-cdk-lib knows: a test fails when an upgrade brings a newer one. */
export const SECRETS_EXTENSION_VERSION = ParamsAndSecretsVersions.V1_0_103;
const SECRETS_EXTENSION = ParamsAndSecretsLayerVersion.fromVersion(SECRETS_EXTENSION_VERSION, {
  httpPort: SECRETS_EXTENSION_PORT,
  secretsManagerTtl: Duration.minutes(5),
  logLevel: ParamsAndSecretsLogLevel.WARN,
});

const codeByStack = new WeakMap<Stack, Code>();

/** `npm run build`'s output, built once per stack on this machine (no Docker); its hash is the output's. */
function codeFor(scope: Construct): Code {
  const stack = Stack.of(scope);
  let code = codeByStack.get(stack);
  if (!code) {
    code = Code.fromAsset("lambda", {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: local bundling always succeeds.
        image: DockerImage.fromRegistry("public.ecr.aws/docker/library/node:22"),
        local: {
          tryBundle(outputDir) {
            buildFunctions(outputDir);
            return true;
          },
        },
      },
    });
    codeByStack.set(stack, code);
  }
  return code;
}

export class ServiceFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.THREE_MONTHS,
      encryptionKey: props.logsKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, so it gets write access to its own log group and not the managed basic policy.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `kustomer-bulk-update ${id}: its log group and what the stack grants it`,
    });
    logGroup.grantWrite(role);
    const entry = props.entry ?? "handler";
    const nodeOptions = NODE_OPTIONS[entry];
    super(scope, id, {
      code: codeFor(scope),
      handler: `${entry}.handler`,
      role,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? FUNCTION_MEMORY_MB,
      timeout: props.timeout ?? FUNCTION_TIMEOUT,
      tracing: Tracing.ACTIVE,
      logGroup,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: { ...props.environment, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) },
      paramsAndSecrets: SECRETS_EXTENSION,
    });
    Validations.of(role).acknowledge({
      id: "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
      reason: "Only xray:PutTraceSegments and xray:PutTelemetryRecords, added by active tracing: X-Ray has no resource-level permissions.",
    });
    // Node.js 24 is offered, but the contract pins 22: the bundle targets it, the benchmark measures
    // it, and Lambda supports it until April 2027. Moving is one line here plus a re-run of both.
    for (const id of ["AwsSolutions::AwsSolutions-L1", "Serverless::Serverless-LambdaLatestVersion"]) {
      Validations.of(this).acknowledge({
        id,
        reason:
          "The service contract pins nodejs22.x: the code, its bundle target and its tests are made and checked for Node.js 22, which Lambda supports until 2027.",
      });
    }
  }
}
