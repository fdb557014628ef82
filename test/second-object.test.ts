// A second Kustomer object is one file: a made-up widget (support/widget.ts), listed beside the customer
// as lambda/contract/objects/listed.ts would list it, and nothing else changed. The real handlers take it
// on every request entry (HTTP, bus events, direct invokes, the synthesized workflow), check it by its own
// schema, send it to the sandbox's /v1/widgets/bulk, and keep its hashes apart in the changes table
// (dynalite); the synthesized stack routes and permits it. The widget is never shipped: only this file
// lists it.
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { COMPLETED_DETAIL_TYPE, JOB_COMPLETED_DETAIL_TYPE } from "../lambda/contract/names.ts";
import type { SubmitResult } from "../lambda/contract/results.ts";
import { definitionFromTemplate, LOCAL_NAMES, runStateMachine } from "../local/state-machines.ts";
import { synthApp } from "../local/synth.ts";
import { buildOpenApiDocument } from "../tools/openapi.ts";
import { customerId, customerUpdate, eventBridgeEvent, restApiEvent } from "./support/fixtures.ts";
import { lambdaContext, startWorldWithTables, type WorldWithTables } from "./support/harness.ts";
import { jobStack, objectCreated, runJobMachine } from "./support/job-machine.ts";
import { Permissions } from "./support/permissions.ts";

// The one line a second object adds to the list.
vi.mock("../lambda/contract/objects/listed.ts", async () => {
  const { customer } = await import("../lambda/contract/objects/customer.ts");
  const { widget } = await import("./support/widget.ts");
  return { OBJECTS: [customer, widget] };
});

const TABLE = "kbu-second-object";
let world: WorldWithTables;
beforeAll(async () => {
  world = await startWorldWithTables([TABLE], { CHANGES_TABLE_NAME: TABLE, KUSTOMER_MAX_ATTEMPTS: "2" });
});
beforeEach(() => world.kustomer.reset());
afterAll(async () => {
  await world.stop();
});

/** Widgets of their own for each test, known to the sandbox, so one test's hashes are not another's. */
let nextWidget = 0x5000;
function widgets(count: number): Array<{ id: string; label: string; sizeNum: number }> {
  const made = Array.from({ length: count }, (_, index) => ({ id: customerId((nextWidget += 1)), label: `W${index}`, sizeNum: index + 1 }));
  world.kustomer.records.add(
    "widgets",
    made.map(({ id }) => ({ id })),
  );
  return made;
}
const put = (path: string, body: unknown) =>
  world.http(restApiEvent({ method: "PUT", path, body, headers: { "content-type": "application/json" } }));
const sentTo = (path: string) => world.kustomer.requests.filter((request) => request.method === "PUT" && request.path === path);

describe("a made-up second object, listed beside the customer", () => {
  it("is taken on PUT /widgets/bulk and sent to Kustomer's /v1/widgets/bulk, where the sandbox applies it; customers still go to theirs", async () => {
    const body = widgets(3);
    const answer = await put("/widgets/bulk", body);
    expect(answer.statusCode).toBe(202);
    expect(sentTo("/v1/widgets/bulk").map((request) => request.body)).toEqual([
      body.map((update) => ({ ...update, _clientRef: update.id })),
    ]);
    world.advance(1_000);
    const bulkId = (JSON.parse(answer.body) as SubmitResult).operations[0]?.bulkId;
    const status = await world.http(restApiEvent({ method: "GET", path: `/bulk/${bulkId}` }));
    expect(JSON.parse(status.body)).toMatchObject({ allComplete: true, applied: 3, failed: 0 });
    expect(world.kustomer.records.find("widgets", body[0]?.id as string)).toMatchObject({ label: "W0", sizeNum: 1 });
    // The final read made the widgets' pending hashes current: the same widgets again cost no request.
    expect(JSON.parse((await put("/widgets/bulk", body)).body)).toMatchObject({ items: 3, unchanged: 3, operations: [] });
    expect(sentTo("/v1/widgets/bulk")).toHaveLength(1);

    world.kustomer.addCustomers([{ id: customerId(1) }]);
    expect((await put("/customers/bulk", [customerUpdate(1)])).statusCode).toBe(202);
    expect(sentTo("/v1/customers/bulk")).toHaveLength(1);
    expect(sentTo("/v1/widgets/bulk")).toHaveLength(1);
  });

  it("checks a widget by the widget's schema, naming the field, and sends nothing", async () => {
    const [widget] = widgets(1);
    const answer = await put("/widgets/bulk", [
      { id: widget?.id, sizeNum: -1 },
      { id: customerId(2), emails: [] },
    ]);
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body).error.issues).toEqual([
      { path: "body[0].sizeNum", message: expect.stringMatching(/>0|positive|greater/i) },
      { path: "body[1]", message: "has an unknown field" },
    ]);
    expect(JSON.parse((await put("/widgets/bulk", [])).body).error.issues).toEqual([
      { path: "body", message: "must hold at least one widget update" },
    ]);
    expect(world.kustomer.requests).toEqual([]);
  });

  it("is a widget command on the bus by its own detail type; a detail naming another object is refused", async () => {
    const body = widgets(2);
    const result = await world.invoke<SubmitResult>(eventBridgeEvent({ body }, "Widget Bulk Update Requested"));
    expect(result).toMatchObject({ status: "submitted", items: 2 });
    expect(sentTo("/v1/widgets/bulk")).toHaveLength(1);

    await expect(world.invoke(eventBridgeEvent({ object: "customer", body }, "Widget Bulk Update Requested"))).rejects.toMatchObject({
      name: "ValidationError",
      issues: [{ path: "object", message: 'must be "widget", as the detail-type says, or absent' }],
    });
    await expect(world.invoke(eventBridgeEvent({ body }, "Gadget Bulk Update Requested"))).rejects.toMatchObject({
      name: "ValidationError",
      issues: [{ path: "detail-type", message: 'must be one of "Customer Bulk Update Requested", "Widget Bulk Update Requested"' }],
    });
  });

  it("is named by a direct invoke's `object`; an object not listed is refused by name, before anything is sent", async () => {
    const body = widgets(1);
    await expect(world.invoke({ object: "widget", body }, lambdaContext())).resolves.toMatchObject({ items: 1 });
    expect(sentTo("/v1/widgets/bulk")).toHaveLength(1);
    await expect(world.invoke({ object: "gadget", body }, lambdaContext())).rejects.toMatchObject({
      name: "ValidationError",
      issues: [{ path: "object", message: expect.stringContaining('"widget"') }],
    });
    expect(sentTo("/v1/widgets/bulk")).toHaveLength(1);
  });

  it("names the widget's own role when Kustomer answers 403", async () => {
    world.kustomer.inject({ path: /^\/v1\/widgets\/bulk$/, fault: { status: 403 } });
    const answer = await put("/widgets/bulk", widgets(1));
    expect(answer.statusCode).toBe(502);
    expect(JSON.parse(answer.body).error.message).toContain("org.permission.widget.update");
  });

  it("runs through the synthesized workflow to its Completed event, and the second run sends nothing: its hashes are kept under widget# keys", async () => {
    const workflow = definitionFromTemplate({}, "Workflow");
    const body = widgets(150);
    const execute = async (name: string) => {
      const puts = sentTo("/v1/widgets/bulk").length;
      const run = await runStateMachine(workflow, { object: "widget", body }, world.handler, () => lambdaContext(), {
        executionName: name,
        beforeTask: (state) => {
          if (state === "CheckStatus") world.advance(1_000);
        },
      });
      return { events: run.events, puts: sentTo("/v1/widgets/bulk").length - puts };
    };
    const first = await execute("widgets-1");
    expect(first.puts).toBe(2);
    expect(first.events).toMatchObject([{ detailType: COMPLETED_DETAIL_TYPE, detail: { items: 150, applied: 150, unchanged: 0 } }]);
    const second = await execute("widgets-2");
    expect(second.puts).toBe(0);
    expect(second.events).toMatchObject([{ detailType: COMPLETED_DETAIL_TYPE, detail: { items: 150, applied: 0, unchanged: 150 } }]);

    const client = new DynamoDBClient({ endpoint: world.dynamodb.url, region: "us-east-1" });
    const { Items = [] } = await client.send(new ScanCommand({ TableName: TABLE }));
    client.destroy();
    const keys = Items.map((item) => item.id?.S as string);
    for (const { id } of body) {
      expect(keys).toContain(`widget#${id}`);
      expect(keys).not.toContain(`customer#${id}`);
    }
  });

  it("runs as a job file under jobs/widgets/ through the synthesized job machine, and the same lines again send nothing", async () => {
    // Loaded after the world, so it shares its fresh modules and environment.
    const { handler } = await import("../lambda/job-handler.ts");
    const stack = jobStack();
    const body = widgets(250);
    const text = `${body.map((update) => JSON.stringify(update)).join("\n")}\n`;
    const run = async (key: string) => {
      const puts = sentTo("/v1/widgets/bulk").length;
      world.s3.put(LOCAL_NAMES.bucket, key, text);
      const { events } = await runJobMachine({
        stack,
        event: objectCreated(key, Buffer.byteLength(text)),
        handler,
        lambdaContext: () => lambdaContext(900_000),
        beforeTask: () => world.advance(1_000),
      });
      return { events, puts: sentTo("/v1/widgets/bulk").length - puts };
    };
    const first = await run("jobs/widgets/first.jsonl");
    expect(first.puts).toBe(3);
    expect(first.events).toMatchObject([{ detailType: JOB_COMPLETED_DETAIL_TYPE, detail: { lines: 250, applied: 250, unchanged: 0 } }]);
    const second = await run("jobs/widgets/second.jsonl");
    expect(second.puts).toBe(0);
    expect(second.events).toMatchObject([{ detailType: JOB_COMPLETED_DETAIL_TYPE, detail: { lines: 250, applied: 0, unchanged: 250 } }]);
  });
});

describe("the stack, with the widget listed", () => {
  const template = Template.fromStack(synthApp({ sendOnlyChanges: true }).stack);

  it("routes PUT /widgets/bulk beside PUT /customers/bulk", () => {
    const paths = Object.values(template.findResources("AWS::ApiGateway::Resource")).map((resource) => resource.Properties.PathPart);
    expect(paths).toEqual(expect.arrayContaining(["customers", "widgets", "bulk"]));
    const methods = Object.values(template.findResources("AWS::ApiGateway::Method")).filter(
      (method) => method.Properties.HttpMethod === "PUT",
    );
    expect(methods).toHaveLength(2);
  });

  it("forwards both objects' request events, and nothing else, to the burst queue", () => {
    const rules = Object.values(template.findResources("AWS::Events::Rule")).map((rule) => rule.Properties.EventPattern);
    expect(rules).toContainEqual(
      expect.objectContaining({ "detail-type": ["Customer Bulk Update Requested", "Widget Bulk Update Requested"] }),
    );
  });

  it("lets the submitting functions keep widgets' records in the changes table, as customers'", async () => {
    const json = template.toJSON();
    const permissions = new Permissions(json);
    const table = permissions.arnOf("AWS::DynamoDB::Table", "ChangesTable");
    const role = json.Resources[permissions.idOf("AWS::Lambda::Function", "BulkUpdateFunction")].Properties.Role["Fn::GetAtt"][0];
    const update = (key: string) =>
      permissions.decide({ principal: role, action: "dynamodb:UpdateItem", resource: table, context: { "dynamodb:LeadingKeys": [key] } });
    expect(await update("widget#5e4c41c8c9f1e7001a5a3b2c")).toBe("Allowed");
    expect(await update("customer#5e4c41c8c9f1e7001a5a3b2c")).toBe("Allowed");
    expect(await update("gadget#5e4c41c8c9f1e7001a5a3b2c")).not.toBe("Allowed");
  });

  it("documents the widget's route and update in the OpenAPI document", () => {
    const document = buildOpenApiDocument();
    expect(Object.keys(document.paths)).toEqual(["/customers/bulk", "/widgets/bulk", "/bulk/{bulkId}"]);
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(["CustomerUpdate", "WidgetUpdate"]));
  });
});
