// Who may call the API, beyond IAM: with callerRoleArns, a resource policy that denies every other
// principal; with apiKeyAuth, a web ACL with a rate-based rule per client address and AWS's managed
// rule groups for known bad inputs and IP reputation (built in the caller's scope, so it keeps its
// logical id).
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from "aws-cdk-lib/aws-iam";
import { CfnWebACL, CfnWebACLAssociation } from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";

/**
 * An API key identifies a caller but does not authorize one, and it can leak: a WAF rate-based rule
 * caps what any one address can send, whatever key it holds.
 */
export function limitEachAddress(scope: Construct, id: string, stageArn: string, requestsPerSecond: number): CfnWebACL {
  const acl = new CfnWebACL(scope, `${id}WebAcl`, {
    scope: "REGIONAL",
    defaultAction: { allow: {} },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: "kustomer-bulk-update-api", sampledRequestsEnabled: false },
    rules: [
      {
        name: "RatePerAddress",
        priority: 0,
        action: { block: {} },
        // Per five minutes, per client address: a fifth of the stage's rate, so no one address takes it all.
        statement: { rateBasedStatement: { aggregateKeyType: "IP", limit: Math.max(100, Math.floor((requestsPerSecond * 300) / 5)) } },
        visibilityConfig: {
          cloudWatchMetricsEnabled: true,
          metricName: "kustomer-bulk-update-rate-per-address",
          sampledRequestsEnabled: false,
        },
      },
      ...["AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"].map((name, index) => ({
        name,
        priority: index + 1,
        overrideAction: { none: {} },
        statement: { managedRuleGroupStatement: { vendorName: "AWS", name } },
        visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: `kustomer-bulk-update-${name}`, sampledRequestsEnabled: false },
      })),
    ],
  });
  new CfnWebACLAssociation(scope, `${id}WebAclAssociation`, { resourceArn: stageArn, webAclArn: acl.attrArn });
  return acl;
}

/** Denies every principal but the listed roles (`execute-api:/*` is the API itself, whatever its id). */
export function onlyCallers(callerRoleArns: string[]): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        sid: "OnlyTheListedCallers",
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ["execute-api:Invoke"],
        resources: ["execute-api:/*"],
        conditions: { ArnNotEquals: { "aws:PrincipalArn": callerRoleArns } },
      }),
    ],
  });
}
