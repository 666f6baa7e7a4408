/**
 * The SNS, Slack and e-mail sink configurations and the Timestream metrics entry: validation, secrets
 * from the environment, and redaction of the configuration that gets logged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, loadRunConfig } from './load.js';
import { isSecretPath, REDACTED, redactConfig } from './redact.js';
import { SeriesMetricsConfigSchema } from './sinks.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-sinks-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function yamlFile(doc: unknown): string {
  const path = join(dir, `shelfwatch-${files++}.yaml`);
  writeFileSync(path, YAML.stringify(doc));
  return path;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const SLACK_SECRET = 'T0AAA/B0BBB/slackSecretToken42';
const SMTP_SECRET = 'smtp#Pa55: w0rd';
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shelfwatch-alerts';

const sinks = [
  { type: 'sns', topicArn: TOPIC, endpoint: 'http://127.0.0.1:4566' },
  {
    type: 'slack',
    webhookUrl: `https://hooks.slack.com/services/${SLACK_SECRET}`,
    linkTemplate: 'https://dash.example/anomalies/{id}',
    channel: '#inventory',
  },
  {
    type: 'email',
    host: 'smtp.example.com',
    user: 'alerts',
    from: 'shelfwatch <alerts@example.com>',
    to: ['inventory@example.com'],
    cc: ['audit@example.com'],
  },
];

describe('SNS, Slack and e-mail sink configuration', () => {
  it('parses the three sinks with their defaults, the SMTP password from the environment', () => {
    const config = loadRunConfig({
      file: yamlFile({ alerts: { sinks } }),
      env: { SHELFWATCH_ALERTS__SINKS__2__PASSWORD: SMTP_SECRET },
    });
    expect(config.alerts.sinks).toEqual([
      { type: 'sns', name: 'sns', topicArn: TOPIC, endpoint: 'http://127.0.0.1:4566' },
      {
        type: 'slack',
        name: 'slack',
        webhookUrl: `https://hooks.slack.com/services/${SLACK_SECRET}`,
        linkTemplate: 'https://dash.example/anomalies/{id}',
        channel: '#inventory',
      },
      {
        type: 'email',
        name: 'email',
        host: 'smtp.example.com',
        port: 587,
        user: 'alerts',
        password: SMTP_SECRET,
        from: 'shelfwatch <alerts@example.com>',
        to: ['inventory@example.com'],
        cc: ['audit@example.com'],
      },
    ]);
  });

  it('takes a whole sink from the environment, the webhook URL under SHELFWATCH_…__WEBHOOK_URL', () => {
    const config = loadRunConfig({
      env: {
        SHELFWATCH_ALERTS__SINKS__0__TYPE: 'slack',
        SHELFWATCH_ALERTS__SINKS__0__WEBHOOK_URL: `https://hooks.slack.com/services/${SLACK_SECRET}`,
        SHELFWATCH_ALERTS__SINKS__1__TYPE: 'email',
        SHELFWATCH_ALERTS__SINKS__1__HOST: 'smtp.example.com',
        SHELFWATCH_ALERTS__SINKS__1__PORT: '465',
        SHELFWATCH_ALERTS__SINKS__1__SECURE: 'true',
        SHELFWATCH_ALERTS__SINKS__1__FROM: 'alerts@example.com',
        SHELFWATCH_ALERTS__SINKS__1__TO: '[a@example.com, b@example.com]',
      },
    });
    expect(config.alerts.sinks).toEqual([
      { type: 'slack', name: 'slack', webhookUrl: `https://hooks.slack.com/services/${SLACK_SECRET}` },
      {
        type: 'email',
        name: 'email',
        host: 'smtp.example.com',
        port: 465,
        secure: true,
        from: 'alerts@example.com',
        to: ['a@example.com', 'b@example.com'],
      },
    ]);
  });

  it('treats the webhook URL and the password as secrets, and endpoints as URLs', () => {
    expect(isSecretPath(['alerts', 'sinks', 1, 'webhookUrl'])).toBe(true);
    expect(isSecretPath(['alerts', 'sinks', 2, 'password'])).toBe(true);
    expect(isSecretPath(['alerts', 'sinks', 0, 'endpoint'])).toBe(true);
    expect(isSecretPath(['alerts', 'sinks', 0, 'topicArn'])).toBe(false);
    expect(isSecretPath(['alerts', 'sinks', 2, 'user'])).toBe(false);
    expect(isSecretPath(['alerts', 'sinks', 1, 'linkTemplate'])).toBe(false);
  });

  it('redactConfig hides the Slack URL and SMTP password, keeps endpoint hosts and the rest', () => {
    const config = loadRunConfig({
      file: yamlFile({
        alerts: { sinks: [...sinks.slice(0, 2), { ...sinks[2], password: SMTP_SECRET }] },
      }),
      env: { SHELFWATCH_ALERTS__SINKS__0__ENDPOINT: 'http://user:endpointPw99@127.0.0.1:4566/path?token=q1' },
    });
    const redacted = redactConfig(config);
    const shown = JSON.stringify(redacted);
    for (const secret of [SLACK_SECRET, 'slackSecretToken42', SMTP_SECRET, 'endpointPw99', 'token=q1']) {
      expect(shown).not.toContain(secret);
    }
    expect(redacted.alerts.sinks).toEqual([
      { type: 'sns', name: 'sns', topicArn: TOPIC, endpoint: `http://127.0.0.1:4566/${REDACTED}` },
      {
        type: 'slack',
        name: 'slack',
        webhookUrl: REDACTED,
        linkTemplate: 'https://dash.example/anomalies/{id}',
        channel: '#inventory',
      },
      {
        type: 'email',
        name: 'email',
        host: 'smtp.example.com',
        port: 587,
        user: 'alerts',
        password: REDACTED,
        from: 'shelfwatch <alerts@example.com>',
        to: ['inventory@example.com'],
        cc: ['audit@example.com'],
      },
    ]);
  });

  it('names each bad key, and never echoes a secret value', () => {
    const err = configError(() =>
      loadRunConfig({
        file: yamlFile({
          alerts: {
            sinks: [
              { type: 'sns', topicArn: 'shelfwatch-alerts' },
              { type: 'slack', webhookUrl: `not a url ${SLACK_SECRET}`, colour: 'red' },
              { type: 'email', host: 'smtp.example.com', from: 'alerts', to: [], password: 42 },
            ],
          },
        }),
        env: {},
      }),
    );
    expect(err.message).not.toContain(SLACK_SECRET);
    const messages = err.issues.map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^alerts\.sinks\[0\]\.topicArn must be an SNS topic ARN .*, got "shelfwatch-alerts"$/,
        ),
        expect.stringMatching(/^alerts\.sinks\[1\]\.webhookUrl must be an http\(s\) URL, got \[redacted\]$/),
        expect.stringMatching(/alerts\.sinks\[1\].*colour/),
        expect.stringMatching(/^alerts\.sinks\[2\]\.from must be an e-mail address/),
        expect.stringMatching(/^alerts\.sinks\[2\]\.to must name at least one recipient/),
        expect.stringMatching(/^alerts\.sinks\[2\]\.password must be a password, got \[redacted\]$/),
      ]),
    );
  });
});

describe('SeriesMetricsConfigSchema', () => {
  it('parses a Timestream entry and rejects what is not one', () => {
    expect(
      SeriesMetricsConfigSchema.parse({
        type: 'timestream',
        database: 'shelfwatch',
        table: 'series',
        region: 'eu-west-1',
      }),
    ).toEqual({ type: 'timestream', database: 'shelfwatch', table: 'series', region: 'eu-west-1' });
    expect(SeriesMetricsConfigSchema.safeParse({ type: 'timestream', database: 'shelfwatch' }).success).toBe(
      false,
    );
    expect(
      SeriesMetricsConfigSchema.safeParse({ type: 'timestream', database: 'd', table: 't', typo: 1 }).success,
    ).toBe(false);
    expect(SeriesMetricsConfigSchema.safeParse({ type: 'influx', database: 'd', table: 't' }).success).toBe(
      false,
    );
    expect(
      SeriesMetricsConfigSchema.safeParse({
        type: 'timestream',
        database: 'd',
        table: 't',
        endpoint: 'ftp://x',
      }).success,
    ).toBe(false);
  });

  it('has its endpoint redacted to the host when logged', () => {
    const redacted = redactConfig({
      metricsSinks: [
        { type: 'timestream', database: 'd', table: 't', endpoint: 'https://ingest.example/abc?k=v' },
      ],
    });
    expect(redacted.metricsSinks[0]).toEqual({
      type: 'timestream',
      database: 'd',
      table: 't',
      endpoint: `https://ingest.example/${REDACTED}`,
    });
  });
});
