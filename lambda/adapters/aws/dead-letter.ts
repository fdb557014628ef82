// Records that can never succeed go straight to the dead-letter queue, with the reason as message
// attributes, instead of coming back until SQS gives up on them. The SQS client is loaded with the
// first dead letter, not on every cold start.
import type { SQSClient } from "@aws-sdk/client-sqs";

export interface DeadLetterQueue {
  send(body: string, reason: { errorName: string; errorMessage: string }): Promise<void>;
}

export class SqsDeadLetterQueue implements DeadLetterQueue {
  private client?: SQSClient;

  constructor(private readonly queueUrl: string) {}

  async send(body: string, reason: { errorName: string; errorMessage: string }): Promise<void> {
    const { SQSClient, SendMessageCommand } = await import("@aws-sdk/client-sqs");
    this.client ??= new SQSClient({});
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        MessageAttributes: {
          ErrorName: { DataType: "String", StringValue: reason.errorName },
          // SQS caps a message at 256 KB in all; the reason needs far less.
          ErrorMessage: { DataType: "String", StringValue: reason.errorMessage.slice(0, 4_000) },
        },
      }),
    );
  }
}
