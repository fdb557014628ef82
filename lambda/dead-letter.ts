// Records that can never succeed go straight to the dead-letter queue, with the reason as message
// attributes, instead of coming back until SQS gives up on them.
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";

export interface DeadLetterQueue {
  send(body: string, reason: { errorName: string; errorMessage: string }): Promise<void>;
}

export class SqsDeadLetterQueue implements DeadLetterQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: string, reason: { errorName: string; errorMessage: string }): Promise<void> {
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
