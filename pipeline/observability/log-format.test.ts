import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadRunConfig } from '../config/load.js';
import { formatLogLine, prettyDestination } from './log-format.js';
import { createLogger } from './logger.js';

const ESC = '\x1b';
const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-logfmt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.unstubAllEnvs());

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

/** A start-up line as the job writes it: the whole (redacted) configuration, ~600 characters of JSON. */
function startup(logger: ReturnType<typeof createLogger>): void {
  logger.info(
    {
      config: {
        source: { type: 'generator', seed: 1, rate: 200, days: 30, skus: 500, warehouses: 3 },
        store: { type: 'mysql', host: 'db.internal', port: 3306, user: 'shelfwatch', password: 'p4ss' },
        alerts: {
          sinks: [
            { type: 'console' },
            { type: 'slack', webhookUrl: 'https://hooks.slack.com/services/T0/B0/s3cr3t' },
            { type: 'email', host: 'smtp.example.com', from: 'alerts@example.com', to: ['ops@example.com'] },
          ],
          groupWaitMs: 30_000,
          repeatIntervalMs: 21_600_000,
          maxPerHour: 60,
        },
        metrics: { port: 9464, host: '127.0.0.1', unreadyAfterMs: 60_000 },
        log: { level: 'info', format: 'auto' },
      },
    },
    'starting',
  );
}

describe('formatLogLine', () => {
  const line = (o: Record<string, unknown>) =>
    JSON.stringify({
      level: 'info',
      time: '2026-01-05T10:00:01.250Z',
      service: 'shelfwatch',
      pid: 42,
      hostname: 'h',
      ...o,
    });

  it('gives time, level, message and the key fields first, on one line without JSON', () => {
    const out = formatLogLine(
      line({
        level: 'warn',
        msg: 'retrying: checkpoint held',
        attempt: 3,
        what: 'store mysql',
        err: 'connect ECONNREFUSED 127.0.0.1:3306',
      }),
      { color: false },
    );
    expect(out).toBe(
      '10:00:01 WARN  retrying: checkpoint held  what="store mysql" err="connect ECONNREFUSED 127.0.0.1:3306" attempt=3',
    );
  });

  it('shows a dead letter by shard, code and reason, and leaves nested objects and the constant fields out', () => {
    const out = formatLogLine(
      line({
        msg: 'dead letter',
        sequence: '4959',
        reason: 'QTY: expected a finite number, got "n/a"',
        code: 'schema',
        shard: 'shardId-000',
        config: { source: { type: 'file' } },
        err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' },
        skus: ['SKU-1', 'SKU-2'],
      }),
      { color: false },
    );
    expect(out).toBe(
      '10:00:01 INFO  dead letter  shard=shardId-000 code=schema reason="QTY: expected a finite number, got \\"n/a\\"" err=boom sequence=4959 skus=SKU-1,SKU-2',
    );
    expect(out).not.toMatch(/service|pid|hostname|config|stack/);
  });

  it('keeps one event on one line and lets no control character through; cuts a long value', () => {
    const out = formatLogLine(line({ msg: `two\nlines ${ESC}[2J`, reason: 'x'.repeat(500) }), {
      color: false,
    });
    expect(out).not.toContain('\n');
    expect(out).not.toContain(ESC);
    expect(out.length).toBeLessThan(260);
    expect(out).toContain('…');
  });

  it('colours only when asked: the level by severity, times and keys dim', () => {
    const plain = formatLogLine(line({ level: 'error', msg: 'parked', receiver: 'slack' }), { color: false });
    expect(plain).not.toContain(ESC);
    const coloured = formatLogLine(line({ level: 'error', msg: 'parked', receiver: 'slack' }), {
      color: true,
    });
    expect(coloured).toContain(`${ESC}[31mERROR${ESC}[0m`);
    expect(coloured).toContain(`${ESC}[2mreceiver=${ESC}[0mslack`);
    expect(coloured.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), '')).toBe(plain);
  });

  it('reads numeric levels, and passes a line that is not JSON on, cleaned', () => {
    expect(formatLogLine(JSON.stringify({ level: 50, msg: 'x' }), { color: false })).toBe(' ERROR x');
    expect(formatLogLine(`not json ${ESC}[1m\n`, { color: false })).toBe('not json \uFFFD[1m');
  });
});

describe('createLogger formats', () => {
  it('seen: "JSON log lines of 600 characters interleave with the alerts on a terminal"', () => {
    const json = capture();
    startup(createLogger({ level: 'info', destination: json.destination, isTTY: false }));
    expect(json.lines[0].length).toBeGreaterThan(600);

    const tty = capture();
    startup(createLogger({ level: 'info', destination: tty.destination, isTTY: true, color: false }));
    expect(tty.lines).toHaveLength(1);
    const [shown] = tty.lines;
    expect(shown).toMatch(/^\d\d:\d\d:\d\d INFO {2}starting\n$/);
    expect(shown).not.toContain('{');
    for (const secret of ['p4ss', 's3cr3t']) expect(shown).not.toContain(secret);
  });

  it('stays JSON when the destination is not a terminal: a pipe, or a file descriptor that is no TTY', () => {
    const piped = capture();
    const logger = createLogger({ level: 'info', destination: piped.destination });
    logger.warn({ shard: 's-1', password: 'p4ss' }, 'retrying');
    expect(JSON.parse(piped.lines[0])).toMatchObject({
      level: 'warn',
      msg: 'retrying',
      password: '[redacted]',
    });

    const path = join(dir, 'log.ndjson');
    const fd = openSync(path, 'w');
    try {
      const file = pino.destination({ dest: fd, sync: true });
      createLogger({ level: 'info', destination: file }).info({ shard: 's-1' }, 'on a file');
      file.flushSync();
    } finally {
      closeSync(fd);
    }
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ msg: 'on a file', shard: 's-1' });
  });

  it('can be forced either way, and colours on a terminal unless NO_COLOR is set', () => {
    const forced = capture();
    createLogger({ level: 'info', destination: forced.destination, format: 'pretty' }).info('hello');
    expect(forced.lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO {2}hello\n$/);
    const jsonOnTty = capture();
    createLogger({ level: 'info', destination: jsonOnTty.destination, format: 'json', isTTY: true }).info(
      'hi',
    );
    expect(JSON.parse(jsonOnTty.lines[0]).msg).toBe('hi');

    vi.stubEnv('NO_COLOR', '');
    const coloured = capture();
    createLogger({ level: 'info', destination: coloured.destination, isTTY: true }).warn('careful');
    expect(coloured.lines[0]).toContain(ESC);
    vi.stubEnv('NO_COLOR', '1');
    const noColor = capture();
    createLogger({ level: 'info', destination: noColor.destination, isTTY: true }).warn('careful');
    expect(noColor.lines[0]).not.toContain(ESC);
    // Pretty on a pipe (forced): no colours, which would litter a file with escape codes.
    vi.stubEnv('NO_COLOR', '');
    const pipe = capture();
    createLogger({ level: 'info', destination: pipe.destination, format: 'pretty' }).warn('careful');
    expect(pipe.lines[0]).not.toContain(ESC);
  });

  it('passes flush through to the destination', () => {
    const flushSync = vi.fn();
    const flush = vi.fn((cb?: (err?: Error) => void) => cb?.());
    const d = prettyDestination({ write: () => {}, flush, flushSync } as never, { color: false });
    (d as unknown as { flushSync: () => void }).flushSync();
    expect(flushSync).toHaveBeenCalledOnce();
    const logger = pino({}, d);
    logger.flush();
    expect(flush).toHaveBeenCalledOnce();
  });

  it('is chosen by log.format or SHELFWATCH_LOG__FORMAT (auto by default)', () => {
    expect(loadRunConfig({ env: {} }).log.format).toBe('auto');
    expect(loadRunConfig({ env: { SHELFWATCH_LOG__FORMAT: 'json' } }).log.format).toBe('json');
    expect(() => loadRunConfig({ env: { SHELFWATCH_LOG__FORMAT: 'fancy' } })).toThrow(/log\.format/);
  });
});
