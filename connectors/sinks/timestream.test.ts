/**
 * Contract tests of the Timestream writer. No local Timestream exists: the client is mocked with
 * aws-sdk-client-mock for the writer's logic, and one test answers the SDK's real HTTP request from a
 * loopback server, to pin the wire format (awsJson1_0, `X-Amz-Target: Timestream_20181101.WriteRecords`)
 * and the parsing of a `RejectedRecordsException`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type _Record,
  RejectedRecordsException,
  TimestreamWriteClient,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { SeriesRow } from '../../pipeline/ports.js';
import { SinkDeliveryError } from './retry.js';
import { seriesRecord, TimestreamRejectedRecordsError, TimestreamSeriesWriter } from './timestream.js';

const client = new TimestreamWriteClient({ region: 'eu-west-1' });
const mock = mockClient(client);
afterEach(() => mock.reset());

const T = Date.UTC(2026, 0, 5, 12);

function row(i: number, overrides: Partial<SeriesRow> = {}): SeriesRow {
  return {
    sku: `SKU-${i}`,
    warehouse: 'WH1',
    onHand: 40 + i,
    reserved: 2,
    inbound: 12,
    lastCountQuantity: null,
    lastCountAt: null,
    salesVelocity: 1.25,
    lastEventAt: T + i,
    model: '{"ignored":true}',
    ...overrides,
  };
}

/** A clock that ticks 1 ms per read, from 1,000. */
function clock(): () => number {
  let t = 1000;
  return () => t++;
}

function writer(extra: Partial<ConstructorParameters<typeof TimestreamSeriesWriter>[0]> = {}) {
  return new TimestreamSeriesWriter({
    database: 'shelfwatch',
    table: 'series',
    client,
    now: clock(),
    ...extra,
  });
}

function recordsOf(call: number): _Record[] {
  return mock.commandCalls(WriteRecordsCommand)[call].args[0].input.Records ?? [];
}

function rejection(records: Array<{ RecordIndex: number; Reason: string; ExistingVersion?: number }>) {
  return new RejectedRecordsException({
    $metadata: { httpStatusCode: 419 },
    message: 'One or more records have been rejected.',
    RejectedRecords: records,
  });
}

describe('TimestreamSeriesWriter', () => {
  it('writes one multi-measure record per series: dimensions, measures, event time, version', async () => {
    mock.on(WriteRecordsCommand).resolves({ RecordsIngested: { Total: 2 } });
    await writer().write([row(1), row(2, { lastCountQuantity: 38, lastCountAt: T - 5 })]);
    const calls = mock.commandCalls(WriteRecordsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0].args[0].input).toMatchObject({ DatabaseName: 'shelfwatch', TableName: 'series' });
    expect(recordsOf(0)).toEqual([
      {
        Dimensions: [
          { Name: 'sku', Value: 'SKU-1', DimensionValueType: 'VARCHAR' },
          { Name: 'warehouse', Value: 'WH1', DimensionValueType: 'VARCHAR' },
        ],
        MeasureName: 'inventory',
        MeasureValueType: 'MULTI',
        MeasureValues: [
          { Name: 'on_hand', Value: '41', Type: 'DOUBLE' },
          { Name: 'reserved', Value: '2', Type: 'DOUBLE' },
          { Name: 'inbound', Value: '12', Type: 'DOUBLE' },
          { Name: 'sales_velocity', Value: '1.25', Type: 'DOUBLE' },
        ],
        Time: String(T + 1),
        TimeUnit: 'MILLISECONDS',
        Version: 1000,
      },
      {
        Dimensions: [
          { Name: 'sku', Value: 'SKU-2', DimensionValueType: 'VARCHAR' },
          { Name: 'warehouse', Value: 'WH1', DimensionValueType: 'VARCHAR' },
        ],
        MeasureName: 'inventory',
        MeasureValueType: 'MULTI',
        MeasureValues: [
          { Name: 'on_hand', Value: '42', Type: 'DOUBLE' },
          { Name: 'reserved', Value: '2', Type: 'DOUBLE' },
          { Name: 'inbound', Value: '12', Type: 'DOUBLE' },
          { Name: 'sales_velocity', Value: '1.25', Type: 'DOUBLE' },
          { Name: 'last_count_quantity', Value: '38', Type: 'DOUBLE' },
        ],
        Time: String(T + 2),
        TimeUnit: 'MILLISECONDS',
        Version: 1000,
      },
    ]);
  });

  it('sends at most 100 records per call, with versions that only go up', async () => {
    mock.on(WriteRecordsCommand).resolves({});
    const w = writer({ now: () => 5 }); // a clock standing still: versions must still rise
    await w.write(Array.from({ length: 250 }, (_, i) => row(i)));
    await w.write([row(0)]);
    const calls = mock.commandCalls(WriteRecordsCommand);
    expect(calls.map((c) => c.args[0].input.Records?.length)).toEqual([100, 100, 50, 1]);
    expect(calls.map((c) => c.args[0].input.Records?.[0].Version)).toEqual([5, 6, 7, 8]);
    expect(calls.flatMap((c) => c.args[0].input.Records ?? []).map((r) => r.Dimensions?.[0].Value)).toEqual([
      ...Array.from({ length: 250 }, (_, i) => `SKU-${i}`),
      'SKU-0',
    ]);
  });

  it('writes a series named twice in one batch once, with its last row', async () => {
    mock.on(WriteRecordsCommand).resolves({});
    await writer().write([row(1, { onHand: 1 }), row(2), row(1, { onHand: 3 })]);
    const records = recordsOf(0);
    expect(records).toHaveLength(2);
    expect(records.find((r) => r.Dimensions?.[0].Value === 'SKU-1')?.MeasureValues?.[0]).toEqual({
      Name: 'on_hand',
      Value: '3',
      Type: 'DOUBLE',
    });
  });

  it('leaves out measures Timestream cannot store (NaN, infinities)', () => {
    const r = seriesRecord(row(1, { salesVelocity: Number.NaN, inbound: Number.POSITIVE_INFINITY }));
    expect(r.MeasureValues?.map((m) => m.Name)).toEqual(['on_hand', 'reserved']);
  });

  it('settles a version conflict by writing again above the stored version (a repeat counts as success)', async () => {
    mock
      .on(WriteRecordsCommand)
      .rejectsOnce(
        rejection([
          { RecordIndex: 1, Reason: 'A record with a higher version exists.', ExistingVersion: 9000 },
        ]),
      )
      .resolves({});
    const w = writer();
    await w.write([row(1), row(2), row(3)]);
    const calls = mock.commandCalls(WriteRecordsCommand);
    expect(calls).toHaveLength(2);
    expect(recordsOf(1)).toEqual([{ ...seriesRecord(row(2)), Version: 9001 }]);
    // The clock is now past the stored version: the next write does not conflict again.
    await w.write([row(4)]);
    expect(recordsOf(2)[0].Version).toBe(9002);
  });

  it('reports the other rejections by row index and reason; the rest of the batch is written', async () => {
    mock
      .on(WriteRecordsCommand)
      .resolvesOnce({})
      .rejectsOnce(
        rejection([
          {
            RecordIndex: 37,
            Reason: 'The record timestamp is outside the time range [..) of the memory store.',
          },
          { RecordIndex: 2, Reason: 'Measure value exceeds the limit' },
        ]),
      )
      .resolves({});
    const err = await writer()
      .write(Array.from({ length: 250 }, (_, i) => row(i)))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimestreamRejectedRecordsError);
    expect(err).toMatchObject({
      retryable: false,
      rejected: [
        { index: 102, sku: 'SKU-102', warehouse: 'WH1', reason: 'Measure value exceeds the limit' },
        {
          index: 137,
          sku: 'SKU-137',
          warehouse: 'WH1',
          reason: 'The record timestamp is outside the time range [..) of the memory store.',
        },
      ],
    });
    expect((err as Error).message).toContain(
      'Timestream rejected 2 records (#102 SKU-102@WH1: Measure value',
    );
    expect(mock.commandCalls(WriteRecordsCommand)).toHaveLength(3);
  });

  it('reports a conflict that persists after the second write', async () => {
    mock
      .on(WriteRecordsCommand)
      .rejects(rejection([{ RecordIndex: 0, Reason: 'version conflict', ExistingVersion: 50_000 }]));
    const err = await writer()
      .write([row(1)])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      rejected: [{ index: 0, sku: 'SKU-1', reason: 'version conflict', existingVersion: 50_000 }],
    });
    expect(mock.commandCalls(WriteRecordsCommand).map((c) => c.args[0].input.Records?.[0].Version)).toEqual([
      1000, 50_001,
    ]);
  });

  it('maps other failures: throttling retryable, validation and anonymous rejections not', async () => {
    const cases: Array<[Error, boolean]> = [
      [
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
        true,
      ],
      [
        Object.assign(new Error('boom'), {
          name: 'InternalServerException',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        }),
        true,
      ],
      [
        Object.assign(new Error('bad table'), {
          name: 'ResourceNotFoundException',
          $fault: 'client',
          $metadata: { httpStatusCode: 404 },
        }),
        false,
      ],
      [rejection([]), false],
    ];
    for (const [error, retryable] of cases) {
      mock.reset();
      mock.on(WriteRecordsCommand).rejects(error);
      const err = await writer()
        .write([row(1)])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkDeliveryError);
      expect(err).not.toBeInstanceOf(TimestreamRejectedRecordsError);
      expect({ name: error.name, retryable: (err as SinkDeliveryError).retryable }).toEqual({
        name: error.name,
        retryable,
      });
      expect((err as Error).message).toContain('WriteRecords to shelfwatch.series failed');
    }
  });

  it('writes nothing for no rows, and refuses to write after close', async () => {
    const w = writer();
    await w.write([]);
    expect(mock.commandCalls(WriteRecordsCommand)).toHaveLength(0);
    await w.close();
    await expect(w.write([row(1)])).rejects.toMatchObject({ retryable: false });
    expect(String(w)).toBe('TimestreamSeriesWriter(timestream → shelfwatch.series)');
  });
});

describe('TimestreamSeriesWriter on the wire', () => {
  let server: Server | undefined;
  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s) await new Promise((resolve) => s.close(resolve));
  });

  it('POSTs awsJson1_0 WriteRecords to a fixed endpoint and parses RejectedRecords', async () => {
    const requests: Array<{
      method?: string;
      url?: string;
      headers: IncomingHttpHeaders;
      body: Record<string, unknown>;
    }> = [];
    let answer = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
        });
        res.setHeader('content-type', 'application/x-amz-json-1.0');
        if (answer++ === 0) {
          res.writeHead(400);
          res.end(
            JSON.stringify({
              __type: 'com.amazonaws.timestream.v20181101#RejectedRecordsException',
              message: 'One or more records have been rejected.',
              RejectedRecords: [
                {
                  RecordIndex: 0,
                  Reason: 'The record timestamp is outside the time range',
                  ExistingVersion: null,
                },
              ],
            }),
          );
        } else {
          res.writeHead(200);
          res.end(JSON.stringify({ RecordsIngested: { Total: 1, MemoryStore: 1, MagneticStore: 0 } }));
        }
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const w = new TimestreamSeriesWriter({
      database: 'shelfwatch',
      table: 'series',
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${port}`,
      clientConfig: {
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
        maxAttempts: 1,
      },
      now: () => 77,
    });
    try {
      const err = await w.write([row(1)]).catch((e: unknown) => e);
      expect(err).toMatchObject({
        rejected: [{ index: 0, sku: 'SKU-1', reason: 'The record timestamp is outside the time range' }],
      });
      await w.write([row(2)]);
    } finally {
      await w.close();
    }
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      url: '/',
      headers: {
        'x-amz-target': 'Timestream_20181101.WriteRecords',
        'content-type': 'application/x-amz-json-1.0',
      },
    });
    expect(requests[0].headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/timestream\//,
    );
    expect(requests[1].body).toEqual({
      DatabaseName: 'shelfwatch',
      TableName: 'series',
      Records: [{ ...seriesRecord(row(2)), Version: 78 }],
    });
  });
});
