// The local gateway sends what the deployed REST API sends: payload 1.0 on the template's own routes,
// and the template's own gateway responses for what API Gateway refuses by itself.
import type { Server } from "node:http";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HTTP_ROUTES } from "../../lambda/contract/routes.ts";
import { gatewayErrorBody, startGateway } from "../../local/gateway.ts";
import { synthApp } from "../../local/synth.ts";

let url: string;
let server: Server;
const seen: any[] = [];

beforeAll(async () => {
  ({ url, server } = await startGateway({
    handler: async (event: any) => {
      seen.push(event);
      if (event.pathParameters?.bulkId === "crash") throw new Error("boom: secret detail");
      return { statusCode: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' };
    },
  }));
});
afterAll(() => server.close());

it("turns a request into an API Gateway REST payload 1.0 event with a Lambda-like context", async () => {
  await fetch(`${url}/customers/bulk?ids=a&ids=b&dryRun=true`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: "[1]",
  });
  expect(seen.at(-1)).toMatchObject({
    resource: "/customers/bulk",
    path: "/customers/bulk",
    httpMethod: "PUT",
    queryStringParameters: { ids: "b", dryRun: "true" },
    multiValueQueryStringParameters: { ids: ["a", "b"], dryRun: ["true"] },
    pathParameters: null,
    headers: { "content-type": "application/json" },
    requestContext: { httpMethod: "PUT", path: "/v1/customers/bulk", resourcePath: "/customers/bulk", stage: "v1" },
    body: "[1]",
    isBase64Encoded: false,
  });
  expect(seen.at(-1)).not.toHaveProperty("version");
});

it("binds the path parameter of GET /bulk/{bulkId}", async () => {
  await fetch(`${url}/bulk/abc123`);
  expect(seen.at(-1)).toMatchObject({ resource: "/bulk/{bulkId}", path: "/bulk/abc123", pathParameters: { bulkId: "abc123" }, body: null });
});

it.each([
  ["an unknown path", "GET", "/nowhere"],
  ["a known path with another method", "POST", "/customers/bulk"],
])("answers %s as API Gateway does, before the function", async (_, method, path) => {
  const before = seen.length;
  const response = await fetch(`${url}${path}`, { method });
  expect(response.status).toBe(403);
  expect(await response.text()).toBe('{"error":{"name":"MISSING_AUTHENTICATION_TOKEN","message":"Missing Authentication Token"}}\n');
  expect(seen.length).toBe(before);
});

it("answers a crashed handler with a bare 502 that names nothing", async () => {
  const response = await fetch(`${url}/bulk/crash`);
  expect(response.status).toBe(502);
  expect(await response.text()).toBe('{"error":{"name":"INTEGRATION_FAILURE","message":"Internal server error"}}\n');
});

describe("the deployed template", () => {
  const template = Template.fromStack(synthApp().stack).toJSON();
  const resources = Object.values(template.Resources) as Array<{ Type: string; Properties: Record<string, any> }>;
  const pathOf = (resourceRef: any): string => {
    if (resourceRef["Fn::GetAtt"]) return "";
    const resource = template.Resources[resourceRef.Ref];
    return `${pathOf(resource.Properties.ParentId)}/${resource.Properties.PathPart}`;
  };

  it("has exactly the local gateway's routes, each a Lambda proxy integration (payload 1.0) with the route's query parameters", () => {
    const methods = resources.filter((resource) => resource.Type === "AWS::ApiGateway::Method");
    const deployed = methods.map(({ Properties }) => ({
      method: Properties.HttpMethod,
      resource: pathOf(Properties.ResourceId),
      query: Object.keys(Properties.RequestParameters ?? {})
        .filter((name) => name.startsWith("method.request.querystring."))
        .map((name) => name.replace("method.request.querystring.", "")),
      integration: Properties.Integration.Type,
    }));
    expect(deployed).toEqual(
      expect.arrayContaining(
        HTTP_ROUTES.map(({ method, resource, query }) => ({ method, resource, query: [...query], integration: "AWS_PROXY" })),
      ),
    );
    expect(deployed).toHaveLength(HTTP_ROUTES.length);
  });

  it("answers what the gateway refuses in the same JSON as the local gateway", () => {
    const responses = resources.filter((resource) => resource.Type === "AWS::ApiGateway::GatewayResponse");
    expect(responses).toHaveLength(2);
    for (const { Properties } of responses) {
      const rendered = (Properties.ResponseTemplates["application/json"] as string)
        .replace("$context.error.responseType", "MISSING_AUTHENTICATION_TOKEN")
        .replace("$context.error.messageString", JSON.stringify("Missing Authentication Token"));
      expect(rendered).toBe(gatewayErrorBody("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token"));
    }
  });
});
