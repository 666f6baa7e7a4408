import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { makeAnomaly, makeNotification } from '../../pipeline/alerts/testing.js';
import type { AlertNotification } from '../../pipeline/ports.js';
import { classifyError } from '../../pipeline/retry.js';
import {
  classifySmtpError,
  EmailDeliveryError,
  EmailSink,
  emailHtml,
  emailMessageId,
  escapeHtml,
} from './email.js';
import { SinkConfigError, withRetry } from './retry.js';

const PASSWORD = 'smtpPassw0rd!Secret';

interface Received {
  raw: string;
  from: string | false;
  rcpt: string[];
  user: unknown;
}

let server: SMTPServer | undefined;
let sinks: EmailSink[] = [];

/** smtp-server in-process on a loopback port, no TLS, login `alerts` / PASSWORD. */
async function smtp(
  overrides: Partial<SMTPServerOptions> = {},
): Promise<{ port: number; received: Received[] }> {
  const received: Received[] = [];
  server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'alerts' && auth.password === PASSWORD) callback(null, { user: 'alerts' });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({
          raw: Buffer.concat(chunks).toString('utf8'),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : false,
          rcpt: session.envelope.rcptTo.map((r) => r.address),
          user: session.user,
        });
        callback();
      });
    },
    ...overrides,
  });
  const s = server;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return { port: (s.server.address() as AddressInfo).port, received };
}

afterEach(async () => {
  for (const s of sinks) await s.close();
  sinks = [];
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

function sink(port: number, extra: Partial<ConstructorParameters<typeof EmailSink>[0]> = {}): EmailSink {
  const s = new EmailSink({
    host: '127.0.0.1',
    port,
    secure: false,
    user: 'alerts',
    password: PASSWORD,
    from: 'shelfwatch <alerts@shelfwatch.example>',
    to: ['inventory@shop.example', 'lead@shop.example'],
    cc: ['audit@shop.example'],
    timeoutMs: 3000,
    ...extra,
  });
  sinks.push(s);
  return s;
}

// ---- a small MIME reader: enough for what nodemailer writes ----------------------------------------

interface Part {
  headers: Map<string, string>;
  body: string;
}

function decodeWords(value: string): string {
  return value.replace(
    /=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*(?==\?)?/g,
    (_m, _charset, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQp(text.replace(/_/g, ' ')),
  );
}

function decodeQp(text: string): string {
  const bytes: number[] = [];
  const s = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '=' && /^[0-9A-F]{2}$/i.test(s.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(s[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function parsePart(raw: string): Part {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), decodeWords(line.slice(colon + 1).trim()));
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  const rawBody = raw.slice(split + 4);
  const body =
    encoding === 'base64'
      ? Buffer.from(rawBody.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable'
        ? decodeQp(rawBody)
        : rawBody;
  return { headers, body };
}

/** Headers of the message, and its text/plain and text/html parts decoded. */
function parseMail(raw: string): { headers: Map<string, string>; text: string; html: string } {
  const top = parsePart(raw);
  const boundary = /boundary="?([^";]+)"?/.exec(top.headers.get('content-type') ?? '')?.[1];
  if (!boundary) throw new Error(`not multipart: ${top.headers.get('content-type')}`);
  const parts = raw
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((p) => parsePart(p.replace(/^\r\n/, '').replace(/\r\n$/, '')));
  const byType = (t: string) => parts.find((p) => p.headers.get('content-type')?.startsWith(t))?.body ?? '';
  // SMTP carries CRLF line ends; the sink wrote LF.
  const lf = (t: string) => t.replace(/\r\n/g, '\n');
  return { headers: top.headers, text: lf(byType('text/plain')), html: lf(byType('text/html')) };
}

function threeSkus(id: string): AlertNotification {
  const n = makeNotification(id, ['a1', 'a2', 'a3']);
  n.warehouse = 'WH-EAST';
  n.groupKey = 'WH-EAST|shrinkage';
  n.anomalies = n.anomalies.map((a, i) => ({ ...a, warehouse: 'WH-EAST', sku: `SKU-${i + 1}` }));
  return n;
}

describe('EmailSink → smtp-server', () => {
  it('sends one message with subject, text, HTML, Message-ID and headers, once per notification', async () => {
    const { port, received } = await smtp();
    const s = sink(port);
    const n = threeSkus('4f1c2a9e');
    await s.publish([n]);
    await s.publish([n, n]); // retried and repeated: already sent
    expect(received).toHaveLength(1);
    const [m] = received;
    expect(m.user).toBe('alerts');
    expect(m.from).toBe('alerts@shelfwatch.example');
    expect(m.rcpt.sort()).toEqual(['audit@shop.example', 'inventory@shop.example', 'lead@shop.example']);
    const mail = parseMail(m.raw);
    expect(mail.headers.get('subject')).toBe('[shelfwatch] CRITICAL shrinkage at WH-EAST (3 SKUs)');
    expect(mail.headers.get('message-id')).toBe('<shelfwatch.4f1c2a9e@shelfwatch.example>');
    expect(mail.headers.get('from')).toBe('shelfwatch <alerts@shelfwatch.example>');
    expect(mail.headers.get('to')).toBe('inventory@shop.example, lead@shop.example');
    expect(mail.headers.get('cc')).toBe('audit@shop.example');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.headers.get('x-priority')).toBe('1 (Highest)');
    expect(mail.headers.get('x-shelfwatch-notification-id')).toBe('4f1c2a9e');
    expect(mail.headers.get('x-shelfwatch-severity')).toBe('critical');
    expect(mail.headers.get('x-shelfwatch-type')).toBe('shrinkage');
    expect(mail.headers.get('x-shelfwatch-warehouse')).toBe('WH-EAST');
    expect(mail.headers.get('content-type')).toMatch(/^multipart\/alternative;/);

    expect(mail.text).toContain('■ CRITICAL Shrinkage: stock missing against the book');
    expect(mail.text).toContain('Where: warehouse WH-EAST · 3 anomalies on 3 SKUs');
    expect(mail.text).toContain('Why: Cycle count found 40 units where the book said 52');
    expect(mail.text).toContain('count_gap: observed -12, expected 0 (70% of the score)');
    expect(mail.text).toContain('notification 4f1c2a9e · group WH-EAST|shrinkage');

    expect(mail.html).toBe(emailHtml(n));
    expect(mail.html).toContain(
      '<h2 style="color:#b00020;margin:0 0 8px">CRITICAL · Shrinkage: stock missing against the book</h2>',
    );
    expect(mail.html).toContain(
      '<p style="margin:4px 0"><b>Where:</b> warehouse WH-EAST · 3 anomalies on 3 SKUs</p>',
    );
    expect(mail.html).toContain('<h3 style="margin:16px 0 4px">SKU SKU-2 · 91% sure · warning</h3>');
    expect(mail.html).toContain(
      '<tr><td>count_gap</td><td align="right">-12</td><td align="right">0</td><td align="right">70%</td></tr>',
    );
    expect(mail.text).not.toContain(PASSWORD);
  });

  it('sends a replayed notification from a new process with the same Message-ID', async () => {
    const { port, received } = await smtp();
    const n = makeNotification('replayed-id');
    await sink(port).publish([n]);
    await sink(port).publish([n]);
    const ids = received.map((m) => parseMail(m.raw).headers.get('message-id'));
    expect(ids).toEqual([
      '<shelfwatch.replayed-id@shelfwatch.example>',
      '<shelfwatch.replayed-id@shelfwatch.example>',
    ]);
  });

  it('escapes HTML in data and keeps non-ASCII intact in the subject', async () => {
    const { port, received } = await smtp();
    const n = makeNotification('x');
    n.warehouse = 'Lager Süd';
    n.anomalies[0] = makeAnomaly({
      id: 'a',
      sku: '<script>alert("x")</script>',
      severity: 'critical',
      explanation: { summary: 'A & B <img src=x onerror=alert(1)>', features: [] },
    });
    await sink(port).publish([n]);
    const mail = parseMail(received[0].raw);
    expect(mail.headers.get('subject')).toBe(
      '[shelfwatch] CRITICAL shrinkage at Lager Süd (SKU <script>alert("x")</script>)',
    );
    expect(mail.html).not.toContain('<script');
    expect(mail.html).not.toContain('<img');
    expect(mail.html).toContain('SKU &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(mail.html).toContain('A &amp; B &lt;img src=x onerror=alert(1)&gt;');
  });

  it('retries a 451 and sends each notification exactly once', async () => {
    let calls = 0;
    const { port, received } = await smtp({
      onMailFrom(_address, _session, callback) {
        calls++;
        // The second message is deferred once, as a greylisting server does.
        if (calls === 2) callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
        else callback();
      },
    });
    const retries: string[] = [];
    const s = withRetry(sink(port), {
      sleep: async () => {},
      onRetry: (r) => retries.push(r.error.message),
    });
    const batch = [makeNotification('n1'), makeNotification('n2'), makeNotification('n3')];
    await s.publish(batch);
    await s.publish(batch);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toContain('451 Try again later');
    expect(received.map((m) => parseMail(m.raw).headers.get('x-shelfwatch-notification-id'))).toEqual([
      'n1',
      'n2',
      'n3',
    ]);
  });

  it('makes a 5xx refusal permanent', async () => {
    const { port } = await smtp({
      onMailFrom(_address, _session, callback) {
        callback(Object.assign(new Error('Sender address rejected'), { responseCode: 553 }));
      },
    });
    const err = await sink(port)
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmailDeliveryError);
    expect(err).toMatchObject({ retryable: false, smtpCode: 553, code: 'EENVELOPE' });
    expect((err as Error).message).toContain('553 Sender address rejected');
  });

  it('makes a refused recipient (550) permanent, as the engine classifies it', async () => {
    const { port, received } = await smtp({
      onRcptTo(_address, _session, callback) {
        callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }));
      },
    });
    const err = await withRetry(sink(port), { sleep: async () => {} })
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmailDeliveryError);
    expect(err).toMatchObject({ retryable: false, smtpCode: 550, code: 'EENVELOPE' });
    expect((err as Error).message).toContain('550 Mailbox unavailable');
    expect(classifyError(err)).toBe('permanent');
    expect(received).toHaveLength(0);
  });

  it('reports a refused login as permanent, without the password anywhere', async () => {
    const { port, received } = await smtp();
    const s = sink(port, { password: `wrong-${PASSWORD}` });
    const err = await s.publish([makeNotification('n')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmailDeliveryError);
    expect(err).toMatchObject({ retryable: false, code: 'EAUTH', smtpCode: 535 });
    expect(classifyError(err)).toBe('permanent');
    for (const shown of [
      String(err),
      (err as Error).stack,
      inspect(err, { depth: 6 }),
      inspect(s, { depth: 6 }),
      JSON.stringify(s),
    ]) {
      expect(shown).not.toContain(PASSWORD);
      expect(shown).not.toContain(Buffer.from(`wrong-${PASSWORD}`).toString('base64'));
    }
    expect(String(s)).toBe(`EmailSink(email → smtp://127.0.0.1:${port})`);
    expect(received).toHaveLength(0);
  });

  it('makes a refused connection retryable', async () => {
    const { port } = await smtp();
    const s = server;
    server = undefined;
    await new Promise<void>((resolve) => s?.close(() => resolve()));
    const err = await sink(port)
      .publish([makeNotification('n')])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true, code: 'ESOCKET' });
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect(classifyError(err)).toBe('transient');
  });

  it('validates its options', () => {
    const base = { host: 'h', from: 'a@b.example', to: ['c@d.example'] };
    expect(() => new EmailSink({ ...base, to: [] })).toThrow(SinkConfigError);
    expect(() => new EmailSink({ ...base, to: ['nobody'] })).toThrow(/to must be e-mail addresses/);
    expect(() => new EmailSink({ ...base, from: 'a@b.example\r\nBcc: x@y' })).toThrow(/from must be/);
    expect(() => new EmailSink({ ...base, port: 0 })).toThrow(/port must be/);
    expect(() => new EmailSink({ ...base, password: PASSWORD })).toThrow(/password is set but user is not/);
  });
});

describe('classifySmtpError', () => {
  const smtpError = (fields: Record<string, unknown>) => Object.assign(new Error('smtp'), fields);
  it.each([
    [{ code: 'EAUTH', responseCode: 535 }, 'permanent'],
    [{ code: 'EAUTH', responseCode: 454 }, 'transient'],
    [{ code: 'EAUTH' }, 'permanent'],
    [{ code: 'ENOAUTH' }, 'permanent'],
    [{ code: 'EENVELOPE', responseCode: 550 }, 'permanent'],
    [{ code: 'EENVELOPE', responseCode: 452 }, 'transient'],
    [{ code: 'EENVELOPE' }, 'permanent'],
    [{ code: 'EMESSAGE', responseCode: 554 }, 'permanent'],
    [{ code: 'EPROTOCOL', responseCode: 503 }, 'transient'],
    [{ code: 'EPROTOCOL', responseCode: 421 }, 'transient'],
    [{ code: 'ESOCKET', originalCode: 'ECONNREFUSED' }, 'transient'],
    [{ code: 'ECONNECTION' }, 'transient'],
    [{ code: 'ETIMEDOUT' }, 'transient'],
    [{ code: 'EDNS' }, 'transient'],
    [{ code: 'ETLS' }, 'permanent'],
    [{ code: 'ERR_ACCESS_DENIED' }, 'permanent'],
    [{ code: 'ECONNRESET' }, 'transient'],
    [{}, 'transient'],
  ] as const)('%o is %s', (fields, kind) => {
    expect(classifySmtpError(smtpError(fields))).toBe(kind);
  });
});

describe('emailMessageId', () => {
  it('is stable per id, uses the sender domain, and hashes ids a Message-ID cannot hold', () => {
    expect(emailMessageId('abc-1', 'x@mail.example')).toBe('<shelfwatch.abc-1@mail.example>');
    expect(emailMessageId('abc-1', 'Ops <x@mail.example>')).toBe('<shelfwatch.abc-1@mail.example>');
    expect(emailMessageId('a b@c>', 'nodomain')).toMatch(/^<shelfwatch\.[0-9a-f]{64}@shelfwatch\.invalid>$/);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (id) => {
        const mid = emailMessageId(id, 'x@mail.example');
        expect(mid).toMatch(/^<shelfwatch\.[A-Za-z0-9_-]{1,100}@mail\.example>$/);
        expect(emailMessageId(id, 'x@mail.example')).toBe(mid);
      }),
    );
  });
});

const TAGS =
  /<\/?(?:!doctype html|html|body|h2|h3|p|b|small|table|tr|th|td)(?: (?:style|align|cellpadding)="[^"<>]*")*>/g;
const markup = fc.oneof(
  fc.string({
    unit: fc.constantFrom('<', '>', '&', '"', "'", 'a', '/', '=', ' ', 'é', '😀'),
    maxLength: 300,
  }),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

describe('escapeHtml and emailHtml', () => {
  it('escapeHtml never lets <, >, " or \' through, and can be undone', () => {
    fc.assert(
      fc.property(markup, (s) => {
        const e = escapeHtml(s);
        expect(e).not.toMatch(/[<>"']/);
        const undone = e
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&quot;/g, '"')
          .replace(/&#39;/g, "'")
          .replace(/&amp;/g, '&');
        expect(undone).toBe(s);
      }),
    );
  });

  it('emailHtml has no markup but its own, whatever the data', () => {
    fc.assert(
      fc.property(
        markup,
        markup,
        markup,
        markup,
        fc.array(markup, { maxLength: 3 }),
        (sku, summary, warehouse, feature, events) => {
          const n = makeNotification('n');
          n.warehouse = warehouse;
          n.groupKey = `${warehouse}|shrinkage`;
          n.anomalies[0] = makeAnomaly({
            id: summary,
            sku,
            eventIds: events,
            detector: feature,
            explanation: { summary, features: [{ name: feature, observed: 1, expected: 2 }] },
          });
          const html = emailHtml(n);
          expect(html.replace(TAGS, '')).not.toMatch(/[<>]/);
        },
      ),
      { numRuns: 200 },
    );
  });
});
