/**
 * The SNS sink's requests and its handling of SNS's answers, with the client mocked
 * (aws-sdk-client-mock). What subscribers really receive is checked against fauxqs in
 * test/sns-sink.test.ts.
 */
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { makeAnomaly, makeNotification } from '../../pipeline/alerts/testing.js';
import { classifyError } from '../../pipeline/retry.js';
import { SinkConfigError, SinkDeliveryError, withRetry } from './retry.js';
import { SnsPublishError, SnsSink, snsAttributes, snsMessage, snsSubject, topicRegion } from './sns.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shelfwatch-alerts';
const client = new SNSClient({ region: 'eu-west-1' });
const mock = mockClient(client);
afterEach(() => mock.reset());

type Entry = NonNullable<PublishBatchCommand['input']['PublishBatchRequestEntries']>[number];
function entriesOf(call: number): Entry[] {
  return (mock.commandCalls(PublishBatchCommand)[call].args[0].input.PublishBatchRequestEntries ??
    []) as Entry[];
}
/** Answers every PublishBatch with all entries successful. */
function acceptAll(): void {
  mock.on(PublishBatchCommand).callsFake((input: PublishBatchCommand['input']) => ({
    Successful: input.PublishBatchRequestEntries?.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}` })),
    Failed: [],
  }));
}

describe('SnsSink requests', () => {
  it('sends at most ten entries per PublishBatch, in order, with unique entry ids', async () => {
    acceptAll();
    const sink = new SnsSink({ topicArn: TOPIC, client });
    const batch = Array.from({ length: 25 }, (_, i) => makeNotification(`n${i}`));
    await sink.publish(batch);
    const calls = mock.commandCalls(PublishBatchCommand);
    expect(calls.map((c) => c.args[0].input.PublishBatchRequestEntries?.length)).toEqual([10, 10, 5]);
    expect(calls.every((c) => c.args[0].input.TopicArn === TOPIC)).toBe(true);
    const ids = calls.flatMap((c) =>
      (c.args[0].input.PublishBatchRequestEntries ?? []).map(
        (e) => e.MessageAttributes?.alert_id?.StringValue,
      ),
    );
    expect(ids).toEqual(batch.map((n) => n.id));
    for (let c = 0; c < 3; c++) {
      const entryIds = entriesOf(c).map((e) => e.Id);
      expect(new Set(entryIds).size).toBe(entryIds.length);
      expect(entryIds.every((id) => /^[A-Za-z0-9_-]{1,80}$/.test(id ?? ''))).toBe(true);
    }
  });

  it('keeps each call under 256 KiB by packing big entries into fewer per call', async () => {
    acceptAll();
    const sink = new SnsSink({ topicArn: TOPIC, client });
    const big = (id: string) => {
      const n = makeNotification(id);
      n.anomalies = Array.from({ length: 60 }, (_, i) =>
        makeAnomaly({ id: `${id}-${i}`, explanation: { summary: 'y'.repeat(300), features: [] } }),
      );
      return n;
    };
    await sink.publish([big('a'), big('b'), big('c'), big('d'), big('e')]);
    const calls = mock.commandCalls(PublishBatchCommand);
    expect(calls.length).toBeGreaterThan(1);
    for (const c of calls) {
      const bytes = (c.args[0].input.PublishBatchRequestEntries ?? []).reduce(
        (s, e) => s + Buffer.byteLength(e.Message ?? '') + Buffer.byteLength(e.Subject ?? ''),
        0,
      );
      expect(bytes).toBeLessThanOrEqual(262_144);
    }
    expect(calls.flatMap((c) => c.args[0].input.PublishBatchRequestEntries ?? [])).toHaveLength(5);
  });

  it('sets MessageGroupId and MessageDeduplicationId on FIFO topics only, hashing ids SNS would refuse', async () => {
    acceptAll();
    const fifo = new SnsSink({ topicArn: `${TOPIC}.fifo`, client });
    const odd = { ...makeNotification('id with spaces and ünïcode'), groupKey: 'Lager Süd|shrinkage' };
    await fifo.publish([makeNotification('plain-id'), odd]);
    const [plain, hashed] = entriesOf(0);
    expect(plain).toMatchObject({ MessageGroupId: 'WH1|shrinkage', MessageDeduplicationId: 'plain-id' });
    expect(hashed.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(hashed.MessageGroupId).toMatch(/^[0-9a-f]{64}$/);
    expect(hashed.MessageAttributes?.alert_id?.StringValue).toBe('id with spaces and ünïcode');

    const standard = new SnsSink({ topicArn: TOPIC, client });
    await standard.publish([makeNotification('std')]);
    const [entry] = entriesOf(1);
    expect(entry.MessageGroupId).toBeUndefined();
    expect(entry.MessageDeduplicationId).toBeUndefined();
    expect(entry.MessageStructure).toBe('json');
  });

  it('omits SKU attributes for a rate-limit summary and never sends an empty attribute value', () => {
    const summary = { ...makeNotification('s'), anomalies: [], suppressed: 4 };
    expect(Object.keys(snsAttributes(summary)).sort()).toEqual(['alert_id', 'severity', 'type', 'warehouse']);
    const blank = { ...makeNotification('b'), warehouse: '' };
    expect(snsAttributes(blank).warehouse).toBeUndefined();
  });

  it('replaces control characters in attributes, and the JSON escapes them', () => {
    const n = makeNotification('c');
    n.anomalies[0] = { ...n.anomalies[0], sku: 'SKU\u0000\u001b[2J' };
    expect(snsAttributes(n).sku.StringValue).toBe('SKU\uFFFD\uFFFD[2J');
    const structure = JSON.parse(snsMessage(n)) as Record<string, string>;
    expect(JSON.parse(structure.sqs).notification.anomalies[0].sku).toBe('SKU\u0000\u001b[2J');
    expect(structure.default).not.toContain('\u0000');
    expect(structure.default).not.toContain('\u001b');
  });
});

describe('SnsSink answers', () => {
  it('reports refused entries, does not resend the accepted ones, and retries only SNS-side failures', async () => {
    let call = 0;
    mock.on(PublishBatchCommand).callsFake((input: PublishBatchCommand['input']) => {
      call++;
      const entries = input.PublishBatchRequestEntries ?? [];
      if (call === 1) {
        return {
          Successful: [{ Id: entries[0].Id, MessageId: 'm0' }],
          Failed: [{ Id: entries[1].Id, Code: 'InternalError', Message: 'try again', SenderFault: false }],
        };
      }
      return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm' })), Failed: [] };
    });
    const sink = new SnsSink({ topicArn: TOPIC, client });
    const batch = [makeNotification('ok'), makeNotification('flaky')];
    const err = await sink.publish(batch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SnsPublishError);
    expect(err).toMatchObject({
      retryable: true,
      failed: [{ notificationId: 'flaky', code: 'InternalError', message: 'try again', senderFault: false }],
    });
    await sink.publish(batch);
    expect(entriesOf(1).map((e) => e.MessageAttributes?.alert_id?.StringValue)).toEqual(['flaky']);
  });

  it('makes a sender fault permanent', async () => {
    mock.on(PublishBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'e0', Code: 'InvalidParameter', Message: 'Message too long', SenderFault: true }],
    });
    const err = await new SnsSink({ topicArn: TOPIC, client })
      .publish([makeNotification('x')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toBe(
      'sns sink "sns": SNS refused 1 notification (x: InvalidParameter Message too long) (not retried)',
    );
  });

  it('maps SDK errors: throttling and network failures retryable; a missing topic, permission and parameter errors not', async () => {
    const sink = new SnsSink({ topicArn: TOPIC, client });
    const cases: Array<[Error, boolean]> = [
      [
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottledException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
        true,
      ],
      [
        Object.assign(new Error('boom'), {
          name: 'InternalErrorException',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        }),
        true,
      ],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), true],
      [
        Object.assign(new Error('not allowed'), {
          name: 'AuthorizationErrorException',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
        }),
        false,
      ],
      [
        Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        }),
        false,
      ],
      [
        Object.assign(new Error('Topic does not exist'), {
          name: 'NotFoundException',
          $fault: 'client',
          $metadata: { httpStatusCode: 404 },
        }),
        false,
      ],
      [
        Object.assign(new Error('Invalid parameter: TopicArn'), {
          name: 'InvalidParameterException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
        false,
      ],
      [
        Object.assign(new Error('KMS throttled'), {
          name: 'KMSThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
        true,
      ],
    ];
    for (const [error, retryable] of cases) {
      mock.reset();
      mock.on(PublishBatchCommand).rejects(error);
      const err = await sink.publish([makeNotification('n')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkDeliveryError);
      expect({ name: error.name, retryable: (err as SinkDeliveryError).retryable }).toEqual({
        name: error.name,
        retryable,
      });
      expect((err as Error).message).toContain(`PublishBatch to ${TOPIC} failed`);
      expect((err as Error).cause).toBe(error);
      // The engine parks what its one classification calls permanent: it must agree with the sink.
      expect(classifyError(err)).toBe(retryable ? 'transient' : 'permanent');
    }
  });

  it('names the real cause of a network failure (the refused address under an AggregateError)', async () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}:4566`), {
        code: 'ECONNREFUSED',
        syscall: 'connect',
      });
    const both = Object.assign(new AggregateError([refused('::1'), refused('127.0.0.1')], ''), {
      code: 'ECONNREFUSED',
    });
    mock.on(PublishBatchCommand).rejects(both);
    const err = await new SnsSink({ topicArn: TOPIC, client })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toBe(
      `sns sink "sns": PublishBatch to ${TOPIC} failed: AggregateError: connect ECONNREFUSED ::1:4566`,
    );
  });

  it('withRetry rides out a throttled call and delivers once', async () => {
    mock
      .on(PublishBatchCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottledException',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ Successful: [{ Id: 'e0', MessageId: 'm' }], Failed: [] });
    const sink = withRetry(new SnsSink({ topicArn: TOPIC, client }), { sleep: async () => {} });
    await sink.publish([makeNotification('n')]);
    await sink.publish([makeNotification('n')]);
    expect(mock.commandCalls(PublishBatchCommand)).toHaveLength(2);
  });

  it('refuses to publish after close, and validates the topic ARN', async () => {
    const sink = new SnsSink({ topicArn: TOPIC, client });
    await sink.close();
    await expect(sink.publish([makeNotification('n')])).rejects.toMatchObject({ retryable: false });
    expect(() => new SnsSink({ topicArn: 'shelfwatch-alerts' })).toThrow(SinkConfigError);
    expect(topicRegion(TOPIC)).toBe('eu-west-1');
    expect(topicRegion('arn:aws:sqs:eu-west-1:123456789012:q')).toBeUndefined();
    expect(String(sink)).toBe(`SnsSink(sns → ${TOPIC})`);
  });
});

describe('snsSubject', () => {
  it('is printable ASCII under 100 characters, never empty, whatever the data', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => {
        const subject = snsSubject(s);
        return /^[\x20-\x7e]{1,99}$/.test(subject) && subject === subject.trim();
      }),
    );
    expect(snsSubject('[shelfwatch] CRITICAL shrinkage at Lübeck (SKU SKU-1)')).toBe(
      '[shelfwatch] CRITICAL shrinkage at L?beck (SKU SKU-1)',
    );
  });
});

describe('snsMessage', () => {
  it('stays under 200 KiB and accounts for every anomaly it leaves out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 600 }), (count, summary) => {
        const n = makeNotification('m');
        n.anomalies = Array.from({ length: count }, (_, i) =>
          makeAnomaly({ id: `a${i}`, explanation: { summary: 'z'.repeat(summary), features: [] } }),
        );
        const structure = JSON.parse(snsMessage(n)) as Record<string, string>;
        expect(Buffer.byteLength(JSON.stringify(structure))).toBeLessThanOrEqual(200 * 1024);
        const payload = JSON.parse(structure.sqs);
        expect(payload.notification.anomalies.length + payload.omittedAnomalies).toBe(count);
        expect(payload.notification.anomalies).toEqual(
          n.anomalies.slice(0, payload.notification.anomalies.length),
        );
      }),
      { numRuns: 30 },
    );
  });
});
