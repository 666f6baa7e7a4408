/**
 * An alert sink that publishes each notification to an Amazon SNS topic, for fan-out to whatever
 * subscribes (SQS queues, Lambda, e-mail, HTTPS endpoints, PagerDuty-style integrations).
 *
 * What a subscriber gets, per notification (`PublishBatch`, up to 10 per call):
 *
 * - `MessageStructure: json`: people (the `default` member, used by e-mail and SMS subscriptions) get
 *   the readable block the console prints; programs (`sqs`, `lambda`, `http`, `https`, `firehose`,
 *   `email-json`) get JSON: `{ "version": 1, "notification": AlertNotification, "omittedAnomalies": n }`.
 * - `Subject`: `[shelfwatch] CRITICAL shrinkage at WH-EAST (3 SKUs)`, as ASCII (SNS refuses anything else).
 * - Message attributes, for subscription filter policies: `type`, `severity`, `warehouse` (String),
 *   `alert_id` (String: the notification id, so that any subscriber can drop a repeat), `sku` (String:
 *   the first SKU, which for most notifications is the only one), `skus` (String.Array: every SKU of the
 *   group; a filter `{"skus": ["SKU-1"]}` matches a group that contains SKU-1, wherever it is listed)
 *   and `sku_count` (Number). A summary of anomalies held back by the rate limit has no SKU attributes.
 * - FIFO topics (ARN ending in `.fifo`): `MessageGroupId` is the group key (warehouse|type, so one
 *   group's notifications stay in order) and `MessageDeduplicationId` the notification id, so SNS itself
 *   drops a repeat within its 5-minute deduplication window.
 *
 * Delivery: ids delivered in this process are remembered (a bounded LRU), so a retried publish sends
 * only what did not go through. Entries SNS refuses are reported in an {@link SnsPublishError}; a call
 * that fails as a whole (the service unreachable, the topic missing) is a {@link SinkDeliveryError},
 * retryable or not by its cause.
 */
import { createHash } from 'node:crypto';
import {
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchCommandOutput,
  type PublishBatchRequestEntry,
  SNSClient,
  type SNSClientConfig,
} from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AlertNotification, AlertSink } from '../../pipeline/ports.js';
import { alertSubject, clean, skusOf, truncate } from './alert-text.js';
import { awsDeliveryError } from './aws-errors.js';
import { formatNotification } from './console.js';
import { DeliveredIds, undelivered } from './delivered-ids.js';
import { SinkConfigError, SinkDeliveryError } from './retry.js';

/**
 * Options of {@link SnsSink}. Region, endpoint and credentials follow the standard AWS chain
 * (`AWS_REGION`, `AWS_ENDPOINT_URL_SNS`, `AWS_ACCESS_KEY_ID`…, profiles, instance roles) unless given.
 *
 * @example
 * ```ts
 * const options: SnsSinkOptions = { topicArn: 'arn:aws:sns:eu-west-1:123456789012:shelfwatch-alerts' };
 * ```
 */
export interface SnsSinkOptions {
  topicArn: string;
  /** Default: the topic ARN's region (SNS must be called in the topic's region). */
  region?: string;
  /** A local stand-in such as fauxqs; default: `AWS_ENDPOINT_URL_SNS` or the regional AWS endpoint. */
  endpoint?: string;
  /** Extra SDK client settings (credentials, maxAttempts); `region`/`endpoint` above win. */
  clientConfig?: SNSClientConfig;
  /** A ready client (tests); the sink then neither configures nor destroys it. */
  client?: SNSClient;
  /** The receiver name routes use. Default `sns`. */
  name?: string;
  /** How many delivered ids to remember. Default 10,000. */
  deliveredMemory?: number;
}

/**
 * One entry SNS refused in a `PublishBatch` answer.
 *
 * @example
 * ```ts
 * const f: SnsFailedEntry = { notificationId: 'n1', code: 'InvalidParameter', message: 'Message too long', senderFault: true };
 * ```
 */
export interface SnsFailedEntry {
  notificationId: string;
  code: string;
  message: string;
  /** SNS's word: true when the request was wrong (sending it again fails the same way). */
  senderFault: boolean;
}

/**
 * SNS refused some entries of a publish (the others were delivered and will not be sent again). It is
 * retryable when every refusal was SNS's fault (throttling, an internal error).
 *
 * @example
 * ```ts
 * try { await sink.publish(batch); }
 * catch (err) { if (err instanceof SnsPublishError) for (const f of err.failed) log.warn(f); }
 * ```
 */
export class SnsPublishError extends SinkDeliveryError {
  constructor(
    sink: string,
    readonly failed: readonly SnsFailedEntry[],
  ) {
    const retryable = failed.every((f) => !f.senderFault);
    const list = failed
      .slice(0, 5)
      .map((f) => `${f.notificationId}: ${f.code} ${f.message}`)
      .join('; ');
    super(
      `sns sink "${sink}": SNS refused ${failed.length} ${failed.length === 1 ? 'notification' : 'notifications'}` +
        ` (${list}${failed.length > 5 ? '; …' : ''})${retryable ? '' : ' (not retried)'}`,
      { sink, retryable },
    );
    this.name = 'SnsPublishError';
  }
}

/** SNS limits: 10 entries and 256 KiB per `PublishBatch`, 256 KiB per message with its attributes. */
const MAX_BATCH_ENTRIES = 10;
const MAX_BATCH_BYTES = 262_144;
/** Room for the attributes and subject under the per-message limit. */
const MESSAGE_BUDGET = 200 * 1024;
/** A `skus` array beyond this is cut (filter policies still see the first SKUs). */
const SKUS_BUDGET = 16 * 1024;
const SUBJECT_MAX = 99;
/** The protocols that get JSON rather than the readable text (`default`). */
const JSON_PROTOCOLS = ['sqs', 'lambda', 'http', 'https', 'firehose', 'email-json'] as const;
/** Characters SNS allows in MessageGroupId and MessageDeduplicationId (1–128 of them). */
const FIFO_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/**
 * The region of an SNS topic ARN, or undefined when it is not one.
 *
 * @example
 * ```ts
 * topicRegion('arn:aws:sns:eu-west-1:123456789012:alerts'); // 'eu-west-1'
 * ```
 */
export function topicRegion(topicArn: string): string | undefined {
  return TOPIC_ARN.exec(topicArn)?.[1];
}

/**
 * A subject SNS accepts: printable ASCII only (others become `?`), no line breaks, under 100 characters.
 *
 * @example
 * ```ts
 * snsSubject('[shelfwatch] CRITICAL shrinkage at Lübeck (SKU-1)'); // '[shelfwatch] CRITICAL shrinkage at L?beck (SKU-1)'
 * ```
 */
export function snsSubject(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/gu, '?').trim();
  const subject = ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 3)}...` : ascii;
  return subject === '' ? 'shelfwatch alert' : subject;
}

/** An id SNS accepts as MessageGroupId/MessageDeduplicationId: itself when valid, else its SHA-256. */
function fifoId(value: string): string {
  return FIFO_ID.test(value) ? value : createHash('sha256').update(value).digest('hex');
}

function stringAttribute(value: string): MessageAttributeValue | undefined {
  // SNS refuses empty attribute values; control characters are not valid XML.
  return value === '' ? undefined : { DataType: 'String', StringValue: clean(value) };
}

/** Every SKU, as a JSON array of at most {@link SKUS_BUDGET} bytes. */
function skusAttribute(skus: readonly string[]): MessageAttributeValue {
  const kept: string[] = [];
  let bytes = 2;
  for (const sku of skus) {
    const size = Buffer.byteLength(JSON.stringify(clean(sku))) + 1;
    if (bytes + size > SKUS_BUDGET) break;
    kept.push(clean(sku));
    bytes += size;
  }
  return { DataType: 'String.Array', StringValue: JSON.stringify(kept) };
}

/**
 * The attributes subscribers filter on (see the module documentation).
 *
 * @example
 * ```ts
 * snsAttributes(notification).severity; // { DataType: 'String', StringValue: 'critical' }
 * ```
 */
export function snsAttributes(n: AlertNotification): Record<string, MessageAttributeValue> {
  const skus = skusOf(n);
  const attributes: Record<string, MessageAttributeValue | undefined> = {
    alert_id: stringAttribute(n.id),
    type: stringAttribute(n.type),
    severity: stringAttribute(n.severity),
    warehouse: stringAttribute(n.warehouse),
  };
  if (skus.length > 0) {
    attributes.sku = stringAttribute(skus[0]);
    attributes.skus = skusAttribute(skus);
    attributes.sku_count = { DataType: 'Number', StringValue: String(skus.length) };
  }
  return Object.fromEntries(Object.entries(attributes).filter(([, v]) => v !== undefined)) as Record<
    string,
    MessageAttributeValue
  >;
}

/**
 * The JSON subscribers parse: the notification with as many anomalies as fit SNS's size limit, and how
 * many were left out.
 *
 * @example
 * ```ts
 * const payload: SnsAlertPayload = JSON.parse(sqsBody);
 * payload.notification.severity; // 'critical'
 * ```
 */
export interface SnsAlertPayload {
  version: 1;
  notification: AlertNotification;
  /** Anomalies of the notification not listed, to keep the message under SNS's 256 KiB. */
  omittedAnomalies: number;
}

/**
 * The `MessageStructure: json` message of a notification: readable text as `default`, the
 * {@link SnsAlertPayload} for the machine protocols; at most 200 KiB (anomalies are left out, then the
 * text cut, to fit).
 *
 * @example
 * ```ts
 * const structure = JSON.parse(snsMessage(notification));
 * structure.default; // '■ CRITICAL Shrinkage: …'
 * ```
 */
export function snsMessage(n: AlertNotification): string {
  const text = truncate(formatNotification(n, { color: false }).trimEnd(), 32 * 1024);
  const build = (kept: number): string => {
    const payload: SnsAlertPayload = {
      version: 1,
      notification: { ...n, anomalies: n.anomalies.slice(0, kept) },
      omittedAnomalies: n.anomalies.length - kept,
    };
    const json = JSON.stringify(payload);
    const structure: Record<string, string> = { default: text };
    for (const p of JSON_PROTOCOLS) structure[p] = json;
    return JSON.stringify(structure);
  };
  let kept = n.anomalies.length;
  let message = build(kept);
  while (Buffer.byteLength(message) > MESSAGE_BUDGET && kept > 0) {
    kept = Math.floor(kept / 2);
    message = build(kept);
  }
  return message;
}

function entrySize(e: PublishBatchRequestEntry): number {
  let size = Buffer.byteLength(e.Message ?? '') + Buffer.byteLength(e.Subject ?? '');
  for (const [name, v] of Object.entries(e.MessageAttributes ?? {})) {
    size +=
      Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? '');
  }
  return size;
}

/**
 * Publishes notifications to an SNS topic (see the module documentation for the message format).
 *
 * @example
 * ```ts
 * const sink = withRetry(new SnsSink({ topicArn: 'arn:aws:sns:eu-west-1:123456789012:shelfwatch-alerts' }));
 * await sink.publish(notifications);
 * ```
 */
export class SnsSink implements AlertSink {
  readonly name: string;
  readonly topicArn: string;
  private readonly fifo: boolean;
  private readonly client: SNSClient;
  private readonly ownsClient: boolean;
  private readonly delivered: DeliveredIds;
  private closed = false;

  /** @throws {SinkConfigError} when the topic ARN is not an SNS topic ARN. */
  constructor(options: SnsSinkOptions) {
    this.name = options.name ?? 'sns';
    const region = topicRegion(options.topicArn);
    if (region === undefined) {
      throw new SinkConfigError(
        `sns sink "${this.name}": topicArn must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got ${JSON.stringify(options.topicArn.slice(0, 120))}`,
      );
    }
    this.topicArn = options.topicArn;
    this.fifo = options.topicArn.endsWith('.fifo');
    this.delivered = new DeliveredIds(options.deliveredMemory);
    this.ownsClient = options.client === undefined;
    this.client =
      options.client ??
      new SNSClient({
        // HTTP/1.1 with bounded waits: a hung connection must fail the publish, not hold the checkpoint forever.
        requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 15_000 }),
        ...options.clientConfig,
        region: options.region ?? region,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      });
  }

  /** Safe to log: the topic ARN is not a secret. */
  toString(): string {
    return `SnsSink(${this.name} → ${this.topicArn})`;
  }

  async publish(notifications: readonly AlertNotification[]): Promise<void> {
    if (this.closed) {
      throw new SinkDeliveryError(`sns sink "${this.name}" is closed`, { sink: this.name, retryable: false });
    }
    const fresh = undelivered(notifications, this.delivered);
    const failed: SnsFailedEntry[] = [];
    for (const batch of this.batches(fresh)) {
      let answer: PublishBatchCommandOutput;
      try {
        answer = await this.client.send(
          new PublishBatchCommand({
            TopicArn: this.topicArn,
            PublishBatchRequestEntries: batch.map((b) => b.entry),
          }),
        );
      } catch (err) {
        // Later batches are not tried: the service or the topic is the problem, not an entry.
        throw awsDeliveryError(err, {
          sink: this.name,
          what: `sns sink "${this.name}": PublishBatch to ${this.topicArn}`,
        });
      }
      const byEntryId = new Map(batch.map((b) => [b.entry.Id, b.notification]));
      for (const s of answer.Successful ?? []) {
        const n = s.Id === undefined ? undefined : byEntryId.get(s.Id);
        if (n) this.delivered.add(n.id);
      }
      for (const f of answer.Failed ?? []) {
        const n = f.Id === undefined ? undefined : byEntryId.get(f.Id);
        failed.push({
          notificationId: n?.id ?? `entry ${f.Id}`,
          code: f.Code ?? 'Unknown',
          message: f.Message ?? '',
          senderFault: f.SenderFault === true,
        });
      }
    }
    if (failed.length > 0) throw new SnsPublishError(this.name, failed);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.ownsClient) this.client.destroy();
  }

  /** The entries, packed in order into batches of ≤ 10 entries and ≤ 256 KiB. */
  private batches(
    notifications: readonly AlertNotification[],
  ): Array<Array<{ entry: PublishBatchRequestEntry; notification: AlertNotification }>> {
    const out: Array<Array<{ entry: PublishBatchRequestEntry; notification: AlertNotification }>> = [];
    let current: Array<{ entry: PublishBatchRequestEntry; notification: AlertNotification }> = [];
    let bytes = 0;
    for (const n of notifications) {
      const entry = this.entry(n);
      const size = entrySize(entry);
      if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      // Entry ids only need to be unique within a call; notification ids may hold characters SNS refuses.
      entry.Id = `e${current.length}`;
      current.push({ entry, notification: n });
      bytes += size;
    }
    if (current.length > 0) out.push(current);
    return out;
  }

  private entry(n: AlertNotification): PublishBatchRequestEntry {
    return {
      Id: undefined,
      Message: snsMessage(n),
      MessageStructure: 'json',
      Subject: snsSubject(alertSubject(n)),
      MessageAttributes: snsAttributes(n),
      ...(this.fifo ? { MessageGroupId: fifoId(n.groupKey), MessageDeduplicationId: fifoId(n.id) } : {}),
    };
  }
}
