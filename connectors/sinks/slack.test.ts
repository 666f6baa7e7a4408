import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeAnomaly, makeNotification } from '../../pipeline/alerts/testing.js';
import type { AlertNotification, Anomaly } from '../../pipeline/ports.js';
import { classifyError } from '../../pipeline/retry.js';
import { SinkConfigError, SinkDeliveryError, withRetry } from './retry.js';
import {
  checkLinkTemplate,
  escapeSlack,
  fitSlack,
  SLACK_LIMITS,
  type SlackMessage,
  SlackSink,
  SlackWebhookError,
  slackMessage,
} from './slack.js';

type Reply = (res: ServerResponse) => void;
let server: Server | undefined;

/** A loopback Slack stand-in: records each POST and answers with the next reply (the last repeats). */
async function slack(
  ...replies: Reply[]
): Promise<{ url: string; received: SlackMessage[]; paths: string[] }> {
  const received: SlackMessage[] = [];
  const paths: string[] = [];
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString()) as SlackMessage);
      paths.push(req.url ?? '');
      const reply = replies.length > 1 ? replies.shift() : replies[0];
      reply?.(res);
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/services/T0000/B0000/${SECRET}`, received, paths };
}
const answer =
  (status: number, body = '', headers: Record<string, string> = {}): Reply =>
  (res) => {
    res.writeHead(status, headers);
    res.end(body);
  };
const ok = answer(200, 'ok');

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const SECRET = 'xoxSecretWebhookToken123';
const noSleep = { sleep: async () => {} };

function twoSkus(id: string): AlertNotification {
  const n = makeNotification(id, ['a1', 'a2']);
  n.anomalies[1] = { ...n.anomalies[1], sku: 'SKU-2' };
  return n;
}

/** The section of one anomaly of the fixtures, as the sink should render it. */
function anomalySection(id: string, sku: string, severity: string) {
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: [
        '*Why:* Cycle count found 40 units where the book said 52',
        '• count_gap: observed -12, expected 0 (70% of the score)',
        '• on_hand: observed 40, expected 52 (20% of the score)',
        '• sales_rate: observed 3.25, expected 3.1',
        `_Events: ev-${id} · anomaly ${id}_`,
      ].join('\n'),
    },
    fields: [
      { type: 'mrkdwn', text: `*Where*\nWH1 · SKU ${sku}` },
      { type: 'mrkdwn', text: `*How sure*\n91% · ${severity}` },
      { type: 'mrkdwn', text: '*Detector*\nrule:count-gap' },
      { type: 'mrkdwn', text: '*Detected*\n2026-01-05 00:00:00 UTC' },
    ],
  };
}

describe('SlackSink', () => {
  it('posts the Block Kit message: what, where, how sure, why, a link, and a text fallback', async () => {
    const hook = await slack(ok);
    const sink = new SlackSink({
      webhookUrl: hook.url,
      linkTemplate: 'https://dash.example/anomalies/{id}?wh={warehouse}',
      channel: '#inventory',
    });
    await sink.publish([twoSkus('notif-1')]);
    expect(hook.received).toHaveLength(1);
    expect(hook.paths).toEqual([`/services/T0000/B0000/${SECRET}`]);
    expect(hook.received[0]).toEqual({
      text: 'CRITICAL shrinkage at WH1: 2 anomalies on 2 SKUs (SKU-1, SKU-2)',
      channel: '#inventory',
      blocks: [
        {
          type: 'header',
          text: { type: 'plain_text', text: ':red_circle: CRITICAL · Shrinkage at WH1', emoji: true },
        },
        {
          type: 'section',
          text: { type: 'mrkdwn', text: '*Shrinkage: stock missing against the book*' },
          fields: [
            { type: 'mrkdwn', text: '*Where*\nWH1 · SKUs SKU-1, SKU-2' },
            { type: 'mrkdwn', text: '*How sure*\n91% (highest) · critical' },
            { type: 'mrkdwn', text: '*Anomalies*\n2 anomalies on 2 SKUs' },
          ],
        },
        { type: 'divider' },
        anomalySection('a1', 'SKU-1', 'critical'),
        anomalySection('a2', 'SKU-2', 'warning'),
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '<https://dash.example/anomalies/notif-1?wh=WH1|Open in the dashboard>',
          },
        },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: 'shelfwatch · notification notif-1 · group WH1|shrinkage' }],
        },
      ],
    });
  });

  it('posts each notification once when a publish is retried after a 500', async () => {
    const hook = await slack(ok, answer(500, 'rollup_error'), ok);
    const sink = withRetry(new SlackSink({ webhookUrl: hook.url }), noSleep);
    const batch = [makeNotification('n1'), makeNotification('n2'), makeNotification('n3')];
    await sink.publish(batch);
    await sink.publish(batch); // the pipeline publishing the same batch again: nothing new
    const ids = hook.received.map((m) => m.blocks.at(-1));
    // n2 was refused once (500) and posted again; n1 and n3 reached Slack once each.
    expect(
      ids.map((b) => (b?.type === 'context' ? b.elements[0].text : '')).map((t) => t.split(' ')[3]),
    ).toEqual(['n1', 'n2', 'n2', 'n3']);
  });

  it('makes a 429 retryable with its Retry-After, which withRetry waits', async () => {
    const hook = await slack(
      answer(429, 'rate_limited', { 'retry-after': '2' }),
      answer(429, 'rate_limited', { 'retry-after': '3' }),
      ok,
    );
    const direct = await new SlackSink({ webhookUrl: hook.url })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(direct).toBeInstanceOf(SinkDeliveryError);
    expect(direct).toMatchObject({ retryable: true, status: 429, retryAfterMs: 2000 });
    const sleep = vi.fn(async (_ms: number, _signal: AbortSignal) => {});
    await withRetry(new SlackSink({ webhookUrl: hook.url }), { sleep, random: () => 0 }).publish([
      makeNotification('n'),
    ]);
    expect(sleep.mock.calls.map((c) => c[0])).toEqual([3000]);
    expect(hook.received).toHaveLength(3);
  });

  it('makes invalid_payload a permanent SlackWebhookError, not retried', async () => {
    const hook = await slack(answer(400, 'invalid_payload'));
    const sink = withRetry(new SlackSink({ webhookUrl: hook.url }), noSleep);
    const err = await sink.publish([makeNotification('n')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackWebhookError);
    expect(err).toMatchObject({ retryable: false, status: 400, slackError: 'invalid_payload' });
    expect((err as Error).message).toBe(
      `slack sink "slack": POST to ${new URL(hook.url).origin} answered HTTP 400: "invalid_payload" (not retried)`,
    );
    expect(hook.received).toHaveLength(1);
  });

  it('never shows the webhook path, even when the answer echoes it', async () => {
    const hook = await slack(answer(404, `no_service for /services/T0000/B0000/${SECRET}`));
    const sink = new SlackSink({ webhookUrl: hook.url });
    const err = await sink.publish([makeNotification('n')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, slackError: 'http_404' });
    for (const shown of [
      String(err),
      (err as Error).stack,
      inspect(err, { depth: 5 }),
      inspect(sink),
      JSON.stringify(sink),
      String(sink),
    ]) {
      expect(shown).not.toContain(SECRET);
    }
    expect(String(sink)).toBe(`SlackSink(slack → ${new URL(hook.url).origin})`);
  });

  it('makes a refused connection and a timeout retryable', async () => {
    const hook = await slack(() => {});
    const slow = await new SlackSink({ webhookUrl: hook.url, timeoutMs: 100 })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(slow).toMatchObject({ retryable: true });
    expect((slow as Error).message).toContain('no complete answer within 100 ms');
    const s = server;
    server = undefined;
    s?.closeAllConnections();
    await new Promise((resolve) => s?.close(resolve));
    const refused = await new SlackSink({ webhookUrl: hook.url })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ retryable: true });
    const { origin, host } = new URL(hook.url);
    expect((refused as Error).message).toBe(
      `slack sink "slack": POST to ${origin}: fetch failed: connect ECONNREFUSED ${host}`,
    );
    expect(inspect(refused, { depth: 10 })).not.toContain(SECRET);
    expect(classifyError(refused)).toBe('transient');
  });

  it('makes a deleted webhook (410 no_service) permanent, as the engine classifies it', async () => {
    const hook = await slack(answer(410, 'no_service'));
    const err = await withRetry(new SlackSink({ webhookUrl: hook.url }), noSleep)
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SlackWebhookError);
    expect(err).toMatchObject({ retryable: false, status: 410, slackError: 'no_service' });
    expect((err as Error).message).toContain('answered HTTP 410: "no_service" (not retried)');
    expect(classifyError(err)).toBe('permanent');
    expect(hook.received).toHaveLength(1);
  });

  it('links each anomaly when the template names {anomalyId} or {sku}, encoding the values', () => {
    const n = twoSkus('n');
    n.anomalies[1] = { ...n.anomalies[1], sku: 'A|B>C&D' };
    const message = slackMessage(n, { linkTemplate: 'https://dash.example/sku/{sku}/anomaly/{anomalyId}' });
    const sections = message.blocks.filter((b) => b.type === 'section').slice(1);
    expect(sections).toHaveLength(2);
    expect(sections[0].type === 'section' && sections[0].text.text.split('\n').at(-1)).toBe(
      '<https://dash.example/sku/SKU-1/anomaly/a1|Open in the dashboard>',
    );
    expect(sections[1].type === 'section' && sections[1].text.text.split('\n').at(-1)).toBe(
      '<https://dash.example/sku/A%7CB%3EC%26D/anomaly/a2|Open in the dashboard>',
    );
  });

  it('escapes data so that it cannot ping a channel or forge a link', () => {
    const n = makeNotification('n');
    n.warehouse = '<!channel>';
    n.anomalies[0] = makeAnomaly({ id: 'a', sku: '<https://evil.example|click>', severity: 'critical' });
    const json = JSON.stringify(slackMessage(n));
    expect(json).not.toContain('<!channel>');
    expect(json).not.toContain('<https://evil');
    expect(json).toContain('&lt;!channel&gt;');
  });

  it('shows a rate-limit summary without anomaly sections', () => {
    const summary = { ...makeNotification('s'), severity: 'warning' as const, anomalies: [], suppressed: 3 };
    const m = slackMessage(summary);
    expect(m.text).toBe('WARNING shrinkage at WH1: 3 held back by the rate limit');
    expect(m.blocks.map((b) => b.type)).toEqual(['header', 'section', 'divider', 'context']);
    expect(m.blocks[1]).toMatchObject({
      fields: [
        { text: '*Where*\nWH1' },
        { text: '*How sure*\nwarning' },
        { text: '*Held back*\n3 by the rate limit (see the anomaly log)' },
      ],
    });
  });

  it('validates its options without echoing the URL', () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [
        () => new SlackSink({ webhookUrl: `ftp://h/${SECRET}` }),
        /webhookUrl must be an http\(s\) URL, got ftp:/,
      ],
      [() => new SlackSink({ webhookUrl: `nope ${SECRET}` }), /webhookUrl must be an http\(s\) URL$/],
      [() => new SlackSink({ webhookUrl: `https://u:${SECRET}@h/x` }), /user:password/],
      [
        () => new SlackSink({ webhookUrl: 'https://h/x', linkTemplate: 'https://d/{nope}' }),
        /unknown placeholder \{nope\}/,
      ],
      [
        () => new SlackSink({ webhookUrl: 'https://h/x', linkTemplate: 'javascript:alert(1)' }),
        /http\(s\) URL/,
      ],
      [() => new SlackSink({ webhookUrl: 'https://h/x', timeoutMs: 0 }), /timeoutMs/],
    ];
    for (const [make, message] of bad) {
      expect(make).toThrow(SinkConfigError);
      expect(make).toThrow(message);
      try {
        make();
      } catch (err) {
        expect(String(err)).not.toContain(SECRET);
      }
    }
    expect(() => checkLinkTemplate('https://dash.example/a/{id}|x')).toThrow(SinkConfigError);
  });

  it('refuses to publish after close', async () => {
    const sink = new SlackSink({ webhookUrl: 'http://127.0.0.1:9/x' });
    await sink.close();
    await expect(sink.publish([makeNotification('n')])).rejects.toMatchObject({ retryable: false });
  });
});

// ---- properties: escaping and Block Kit limits --------------------------------------------------

/** Every `&` begins a whole entity, and no `<`/`>` is left outside a link. */
function wellFormed(text: string): boolean {
  const withoutLinks = text.replace(/<https?:\/\/[^<>|\s]+\|[^<>]*>/g, '');
  return !/&(?!amp;|lt;|gt;)/.test(text) && !/[<>]/.test(withoutLinks);
}
function noLoneSurrogate(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Text rich in what escaping and cutting must get right: `&<>`, surrogate pairs, line feeds. */
function tricky(maxLength: number, minLength = 0): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({
      unit: fc.constantFrom('a', '&', '<', '>', '😀', 'é', '\n', ' ', '*', '|'),
      minLength,
      maxLength,
    }),
    fc.string({ unit: 'binary', minLength, maxLength }),
  );
}
const anyText = tricky(4000);

describe('escapeSlack and fitSlack', () => {
  it('escape all of &, <, > and cut only between whole entities and code points', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 1, max: 6000 }), (raw, max) => {
        const escaped = escapeSlack(raw);
        expect(escaped).not.toMatch(/[<>]/);
        const fitted = fitSlack(escaped, max);
        expect(fitted.length).toBeLessThanOrEqual(max);
        expect(wellFormed(fitted)).toBe(true);
        expect(noLoneSurrogate(fitted)).toBe(noLoneSurrogate(raw) || fitted !== escaped);
        if (escaped.length <= max) expect(fitted).toBe(escaped);
        else expect(escaped.startsWith(fitted.slice(0, -1))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

const anomalyArb: fc.Arbitrary<Anomaly> = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 300 }),
    sku: tricky(2500, 1),
    summary: tricky(5000),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
    events: fc.array(fc.string({ maxLength: 200 }), { maxLength: 30 }),
    features: fc.array(
      fc.record({
        name: tricky(1500),
        observed: fc.double({ noNaN: true }),
        expected: fc.double({ noNaN: true }),
      }),
      { maxLength: 6 },
    ),
  })
  .map((r) =>
    makeAnomaly({
      id: r.id,
      sku: r.sku,
      score: r.score,
      eventIds: r.events,
      explanation: { summary: r.summary, features: r.features },
    }),
  );

describe('slackMessage', () => {
  it('stays within Block Kit limits and keeps every text well-formed, whatever the data', () => {
    fc.assert(
      fc.property(
        fc.array(anomalyArb, { maxLength: 60, size: 'max' }),
        tricky(400, 1),
        fc.nat({ max: 1000 }),
        fc.constantFrom(
          undefined,
          'https://dash.example/anomalies/{id}',
          'https://d.example/{sku}/{anomalyId}',
        ),
        (anomalies, warehouse, suppressed, linkTemplate) => {
          const n: AlertNotification = { ...makeNotification('n'), warehouse, anomalies, suppressed };
          const m = slackMessage(n, { linkTemplate });
          expect(m.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
          expect(m.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
          expect(wellFormed(m.text)).toBe(true);
          for (const b of m.blocks) {
            if (b.type === 'header') {
              expect(b.text.type).toBe('plain_text');
              expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
              expect(wellFormed(b.text.text)).toBe(true);
            } else if (b.type === 'section') {
              expect(b.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
              expect(b.text.text.length).toBeGreaterThan(0);
              expect(wellFormed(b.text.text)).toBe(true);
              expect(b.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
              for (const f of b.fields ?? []) {
                expect(f.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
                expect(wellFormed(f.text)).toBe(true);
              }
            } else if (b.type === 'context') {
              expect(b.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
              for (const e of b.elements) {
                expect(e.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
                expect(wellFormed(e.text)).toBe(true);
              }
            }
          }
          if (linkTemplate?.includes('{sku}')) {
            const links = m.blocks.filter(
              (b) => b.type === 'section' && b.text.text.includes('<https://d.example/'),
            );
            expect(links).toHaveLength(Math.min(anomalies.length, 20));
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
