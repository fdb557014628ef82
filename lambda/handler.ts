// The bulk-update function's entry: HTTP (API Gateway, function URLs), bus events delivered to it, a
// direct invoke or a Step Functions task of yours, and a Distributed Map of yours. The workflow's
// tasks and the burst queue have entries of their own (workflow-handler.ts, queue-handler.ts).
import { createEntry } from "./composition/entry-pipeline.ts";
import { directAdapter } from "./events/direct.ts";
import { eventBridgeAdapter } from "./events/eventbridge.ts";
import { httpAdapter } from "./events/http.ts";
import { mapBatchAdapter } from "./events/map-batch.ts";

export const handler = createEntry([httpAdapter, eventBridgeAdapter, mapBatchAdapter, directAdapter], directAdapter);
