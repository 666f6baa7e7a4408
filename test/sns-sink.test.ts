/**
 * The SNS sink against fauxqs 1.9.2 (SNS + SQS, a child process on a loopback port): what an SQS
 * subscriber receives, exactly once, with its attributes; filter policies; FIFO deduplication; and
 * fauxqs going away mid-publish and coming back empty.
 */
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SinkDeliveryError, withRetry } from '../connectors/sinks/retry.js';
import { type SnsAlertPayload, SnsSink } from '../connectors/sinks/sns.js';
import { makeAnomaly, makeNotification } from '../pipeline/alerts/testing.js';
import type { AlertNotification } from '../pipeline/ports.js';
import { type Fauxqs, type FauxqsInit, startFauxqs } from './servers/fauxqs.js';

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const topicArn = (name: string) => `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;

let fauxqs: Fauxqs;
let sns: SNSClient;
let sqs: SQSClient;

beforeAll(async () => {
  fauxqs = await startFauxqs();
  sns = new SNSClient({ ...fauxqs.clientConfig, requestHandler: new NodeHttpHandler() });
  sqs = new SQSClient({ ...fauxqs.clientConfig, requestHandler: new NodeHttpHandler() });
});

afterAll(async () => {
  sns?.destroy();
  sqs?.destroy();
  await fauxqs?.stop();
});

let counter = 0;
/** A fresh topic with one SQS queue subscribed per entry of `subscriptions`; returns the queue URLs. */
async function topicWithQueues(
  subscriptions: Array<Record<string, string>>,
  fifo = false,
): Promise<{ topicArn: string; queues: string[] }> {
  const suffix = fifo ? '.fifo' : '';
  const name = `alerts-${++counter}`;
  const topic = await sns.send(
    new CreateTopicCommand({ Name: `${name}${suffix}`, Attributes: fifo ? { FifoTopic: 'true' } : {} }),
  );
  const queues: string[] = [];
  for (const [i, attributes] of subscriptions.entries()) {
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: `${name}-q${i}${suffix}`,
        Attributes: fifo ? { FifoQueue: 'true' } : {},
      }),
    );
    const arn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(
      new SubscribeCommand({
        TopicArn: topic.TopicArn,
        Protocol: 'sqs',
        Endpoint: arn.Attributes?.QueueArn,
        Attributes: attributes,
      }),
    );
    queues.push(QueueUrl!);
  }
  return { topicArn: topic.TopicArn!, queues };
}

/** Everything in the queue now (fauxqs fans out before PublishBatch answers, so no waiting). */
async function drain(queueUrl: string, client = sqs): Promise<Message[]> {
  const out: Message[] = [];
  for (;;) {
    const r = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (!r.Messages?.length) return out;
    out.push(...r.Messages);
  }
}

/**
 * The readable text and the JSON payload of a delivered message. AWS delivers only the subscriber
 * protocol's member of a `MessageStructure: json` message (`sqs` here); fauxqs 1.9.2 ignores
 * MessageStructure and delivers the whole structure, so both members can be checked.
 */
function members(message: string): { text: string; payload: SnsAlertPayload } {
  const structure = JSON.parse(message) as Record<string, string>;
  expect(Object.keys(structure).sort()).toEqual(
    ['default', 'email-json', 'firehose', 'http', 'https', 'lambda', 'sqs'].sort(),
  );
  return { text: structure.default, payload: JSON.parse(structure.sqs) as SnsAlertPayload };
}

function sink(topic: string, extra: Partial<ConstructorParameters<typeof SnsSink>[0]> = {}): SnsSink {
  return new SnsSink({
    topicArn: topic,
    endpoint: fauxqs.endpoint,
    clientConfig: { credentials: fauxqs.clientConfig.credentials },
    ...extra,
  });
}

function twoSkus(id: string): AlertNotification {
  const n = makeNotification(id, ['a1', 'a2']);
  n.warehouse = 'WH-EAST';
  n.groupKey = 'WH-EAST|shrinkage';
  n.anomalies[1] = { ...n.anomalies[1], sku: 'SKU-2' };
  return n;
}

describe('SnsSink → fauxqs → SQS', () => {
  it('delivers a notification once, with subject, attributes, readable text and JSON (envelope delivery)', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{}]);
    const s = sink(arn);
    const n = twoSkus('notif-1');
    await s.publish([n]);
    await s.publish([n]); // a retried batch: already delivered in this process
    await s.publish([makeNotification('marker')]);
    const got = await drain(queues[0]);
    expect(got).toHaveLength(2);
    const envelope = JSON.parse(got[0].Body!) as {
      Type: string;
      TopicArn: string;
      Subject: string;
      Message: string;
      MessageAttributes: Record<string, { Type: string; Value: string }>;
    };
    expect(envelope.Type).toBe('Notification');
    expect(envelope.TopicArn).toBe(arn);
    expect(envelope.Subject).toBe('[shelfwatch] CRITICAL shrinkage at WH-EAST (2 SKUs)');
    expect(envelope.MessageAttributes).toEqual({
      alert_id: { Type: 'String', Value: 'notif-1' },
      type: { Type: 'String', Value: 'shrinkage' },
      severity: { Type: 'String', Value: 'critical' },
      warehouse: { Type: 'String', Value: 'WH-EAST' },
      sku: { Type: 'String', Value: 'SKU-1' },
      skus: { Type: 'String.Array', Value: '["SKU-1","SKU-2"]' },
      sku_count: { Type: 'Number', Value: '2' },
    });
    const { text, payload } = members(envelope.Message);
    expect(text).toContain('■ CRITICAL Shrinkage: stock missing against the book');
    expect(text).toContain('Where: warehouse WH-EAST · 2 anomalies on 2 SKUs');
    expect(text).toContain('Why: Cycle count found 40 units where the book said 52');
    expect(payload).toEqual({ version: 1, notification: n, omittedAnomalies: 0 });
    expect(JSON.parse(got[1].Body!).MessageAttributes.alert_id.Value).toBe('marker');
    await s.close();
  });

  it('with raw delivery the attributes arrive as SQS message attributes', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{ RawMessageDelivery: 'true' }]);
    const s = sink(arn);
    const n = twoSkus('raw-1');
    await s.publish([n]);
    const [m, ...rest] = await drain(queues[0]);
    expect(rest).toHaveLength(0);
    expect(m.MessageAttributes).toEqual({
      alert_id: { DataType: 'String', StringValue: 'raw-1' },
      type: { DataType: 'String', StringValue: 'shrinkage' },
      severity: { DataType: 'String', StringValue: 'critical' },
      warehouse: { DataType: 'String', StringValue: 'WH-EAST' },
      sku: { DataType: 'String', StringValue: 'SKU-1' },
      skus: { DataType: 'String.Array', StringValue: '["SKU-1","SKU-2"]' },
      sku_count: { DataType: 'Number', StringValue: '2' },
    });
    expect(members(m.Body!).payload.notification).toEqual(n);
    await s.close();
  });

  it('a new process re-sends to a standard topic, with the same alert_id for subscribers to drop', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{ RawMessageDelivery: 'true' }]);
    const n = makeNotification('replayed');
    const first = sink(arn);
    await first.publish([n]);
    await first.close();
    const afterRestart = sink(arn);
    await afterRestart.publish([n]);
    await afterRestart.close();
    const got = await drain(queues[0]);
    expect(got.map((m) => m.MessageAttributes?.alert_id?.StringValue)).toEqual(['replayed', 'replayed']);
  });

  it('a FIFO topic drops the repeat itself (MessageDeduplicationId), even from another process', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{ RawMessageDelivery: 'true' }], true);
    const n = makeNotification('fifo-1');
    for (let i = 0; i < 2; i++) {
      const s = sink(arn);
      await s.publish([n]);
      await s.close();
    }
    const got = await drain(queues[0]);
    expect(got).toHaveLength(1);
    expect(got[0].Attributes).toMatchObject({
      MessageGroupId: 'WH1|shrinkage',
      MessageDeduplicationId: 'fifo-1',
    });
  });

  it('a subscriber filtering severity=critical gets only the critical notifications', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([
      { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify({ severity: ['critical'] }) },
      { RawMessageDelivery: 'true' },
    ]);
    const s = sink(arn);
    const notifications = (['critical', 'warning', 'info', 'critical'] as const).map((severity, i) => ({
      ...makeNotification(`sev-${i}`),
      severity,
    }));
    await s.publish(notifications);
    const critical = await drain(queues[0]);
    const everything = await drain(queues[1]);
    expect(critical.map((m) => m.MessageAttributes?.alert_id?.StringValue)).toEqual(['sev-0', 'sev-3']);
    expect(everything.map((m) => m.MessageAttributes?.alert_id?.StringValue).sort()).toEqual([
      'sev-0',
      'sev-1',
      'sev-2',
      'sev-3',
    ]);
    await s.close();
  });

  it('publishes more than ten notifications in batches, each exactly once, with ids SNS would refuse', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{ RawMessageDelivery: 'true' }]);
    const s = sink(arn);
    const batch = Array.from({ length: 23 }, (_, i) => makeNotification(`id with spaces/and:punct ${i}`));
    await s.publish(batch);
    await s.publish(batch);
    const got = await drain(queues[0]);
    expect(got.map((m) => m.MessageAttributes?.alert_id?.StringValue).sort()).toEqual(
      batch.map((n) => n.id).sort(),
    );
    await s.close();
  });

  it('keeps a huge notification under the SNS size limit by leaving anomalies out, and says so', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{ RawMessageDelivery: 'true' }]);
    const s = sink(arn);
    const n = makeNotification('huge');
    n.anomalies = Array.from({ length: 400 }, (_, i) =>
      makeAnomaly({ id: `a${i}`, sku: `SKU-${i}`, explanation: { summary: 'x'.repeat(400), features: [] } }),
    );
    await s.publish([n]);
    const [m] = await drain(queues[0]);
    const { payload } = members(m.Body!);
    expect(payload.omittedAnomalies).toBeGreaterThan(0);
    expect(payload.notification.anomalies.length + payload.omittedAnomalies).toBe(400);
    expect(m.MessageAttributes?.sku_count?.StringValue).toBe('400');
    await s.close();
  });

  it('takes endpoint and credentials from the standard AWS environment, the region from the ARN', async () => {
    const { topicArn: arn, queues } = await topicWithQueues([{ RawMessageDelivery: 'true' }]);
    vi.stubEnv('AWS_ENDPOINT_URL_SNS', fauxqs.endpoint);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'from-env');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'from-env-secret');
    vi.stubEnv('AWS_REGION', 'ap-southeast-2');
    try {
      const s = new SnsSink({ topicArn: arn });
      await s.publish([makeNotification('env-1')]);
      await s.close();
    } finally {
      vi.unstubAllEnvs();
    }
    const got = await drain(queues[0]);
    expect(got.map((m) => m.MessageAttributes?.alert_id?.StringValue)).toEqual(['env-1']);
  });

  it('rejects a missing topic as permanent', async () => {
    const s = sink(topicArn('no-such-topic'));
    const err = await s.publish([makeNotification('n')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkDeliveryError);
    expect(err).toMatchObject({ retryable: false, status: 404 });
    expect((err as Error).message).toContain('NotFoundException');
    await s.close();
  });
});

describe('SnsSink while fauxqs is down', () => {
  it('rejects as retryable while it is down, and delivers exactly once after it comes back empty', async () => {
    const init: FauxqsInit = {
      topics: [{ name: 'fault-topic' }],
      queues: [{ name: 'fault-queue' }],
      subscriptions: [
        { topic: 'fault-topic', queue: 'fault-queue', attributes: { RawMessageDelivery: 'true' } },
      ],
    };
    let server = await startFauxqs({ init });
    const port = server.port;
    const clientConfig = { ...server.clientConfig, requestHandler: new NodeHttpHandler() };
    let queue = new SQSClient(clientConfig);
    const queueUrl = `http://sqs.${REGION}.localhost:${port}/${ACCOUNT}/fault-queue`;
    // One SDK attempt: withRetry below does the retrying, with waits this test can keep short.
    const s = new SnsSink({
      topicArn: topicArn('fault-topic'),
      endpoint: server.endpoint,
      clientConfig: { credentials: server.clientConfig.credentials, maxAttempts: 1 },
    });
    const started = Date.now();
    try {
      await s.publish([makeNotification('before')]);
      expect((await drain(queueUrl, queue)).length).toBe(1);

      await server.stop();
      const batch = [makeNotification('before'), makeNotification('during-1'), makeNotification('during-2')];
      const down = await s.publish(batch).catch((e: unknown) => e);
      expect(down).toBeInstanceOf(SinkDeliveryError);
      expect(down).toMatchObject({ retryable: true });
      // Refused, or a kept-alive connection the stopping server hung up on.
      expect((down as Error).message).toMatch(
        /PublishBatch to .* failed: .*(ECONNREFUSED|ECONNRESET|socket hang up)/,
      );

      // The pipeline's retry: back-off while the server is down; it comes back (empty, re-initialised)
      // on the same port part-way through.
      const retries: number[] = [];
      const retried = withRetry(s, {
        retries: 40,
        baseDelayMs: 50,
        maxDelayMs: 100,
        onRetry: (r) => retries.push(r.attempt),
      }).publish(batch);
      await new Promise((r) => setTimeout(r, 400));
      server = await startFauxqs({ port, init });
      await retried;
      expect(retries.length).toBeGreaterThan(0);

      queue.destroy();
      queue = new SQSClient(clientConfig);
      const got = await drain(queueUrl, queue);
      // 'before' was delivered before the outage and is not sent again.
      expect(got.map((m) => m.MessageAttributes?.alert_id?.StringValue).sort()).toEqual([
        'during-1',
        'during-2',
      ]);
      await s.publish(batch);
      expect(await drain(queueUrl, queue)).toHaveLength(0);
    } finally {
      await s.close();
      queue.destroy();
      await server.stop();
    }
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
