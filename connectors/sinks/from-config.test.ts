import { describe, expect, it } from 'vitest';
import type { SinkConfig } from '../../pipeline/index.js';
import { createSeriesMetricsSinkFromConfig, createSinkFromConfig } from './from-config.js';
import { TimestreamSeriesWriter } from './timestream.js';

describe('createSinkFromConfig', () => {
  it('builds every sink type under its configured name', async () => {
    const configs: SinkConfig[] = [
      { type: 'console', name: 'console' },
      { type: 'file', name: 'audit', path: '/tmp/shelfwatch-from-config-never-written.ndjson' },
      { type: 'webhook', name: 'hook', url: 'https://alerts.example/hook' },
      { type: 'sns', name: 'pager', topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts' },
      { type: 'slack', name: 'team', webhookUrl: 'https://hooks.slack.com/services/T/B/X', channel: '#inv' },
      {
        type: 'email',
        name: 'mail',
        host: '127.0.0.1',
        port: 2525,
        user: 'u',
        password: 'p',
        from: 'a@example.com',
        to: ['b@example.com'],
      },
    ];
    const sinks = configs.map(createSinkFromConfig);
    expect(sinks.map((s) => s.name)).toEqual(['console', 'audit', 'hook', 'pager', 'team', 'mail']);
    for (const s of sinks) await s.close();
  });

  it('builds the Timestream metrics writer, named after its type unless named', async () => {
    const m = createSeriesMetricsSinkFromConfig({
      type: 'timestream',
      database: 'shelfwatch',
      table: 'series',
      region: 'eu-west-1',
    });
    expect(m).toBeInstanceOf(TimestreamSeriesWriter);
    expect(m.name).toBe('timestream');
    expect(String(m)).toBe('TimestreamSeriesWriter(timestream → shelfwatch.series)');
    await m.close();
  });
});
