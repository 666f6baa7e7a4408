/**
 * The SQLite specifics: file set-up (folder, WAL, synchronous, busy timeout), the statement cache,
 * readers beside a writer, and durability when the writing process is killed mid-stream.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchCommit } from '../../pipeline/ports.js';
import { storeMigrations } from './migrations.js';
import { cachingSqliteDatabase, createSqliteStore, openSqliteDatabase } from './sqlite.js';

const root = mkdtempSync(join(tmpdir(), 'shelfwatch-sqlite-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newPath = (): string => join(root, `case-${++n}`, 'deeper', 'state.db');

function batch(i: number, shardId = 'shard-0'): BatchCommit {
  return {
    shardId,
    checkpoint: { sequenceNumber: String(i), subSequenceNumber: 0 },
    series: [
      {
        sku: 'SKU-1',
        warehouse: 'WH-1',
        onHand: i,
        reserved: 0,
        inbound: 0,
        lastCountQuantity: null,
        lastCountAt: null,
        salesVelocity: 0,
        lastEventAt: i,
        model: '{}',
      },
    ],
    values: [{ key: 'counter', value: String(i) }],
    appliedEvents: Array.from({ length: 200 }, (_, e) => ({
      eventId: `${i}-${e}`,
      occurredAt: i,
      sku: 'SKU-1',
      warehouse: 'WH-1',
    })),
    deadLetters: [],
    anomalies: [],
  };
}

describe('createSqliteStore', () => {
  it('touches nothing before open(), then creates the folder and a WAL database', async () => {
    const path = newPath();
    const store = createSqliteStore({ path });
    expect(existsSync(path)).toBe(false);
    await store.open();
    expect(existsSync(path)).toBe(true);
    await store.commit(batch(1));
    expect(existsSync(`${path}-wal`)).toBe(true);
    await store.close();

    const check = new SQLite(path, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal'); // persistent in the file
    check.close();
  });

  it('sets synchronous = NORMAL and the busy timeout on every connection', () => {
    const db = openSqliteDatabase({ path: newPath(), busyTimeoutMs: 1234 });
    expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const memory = openSqliteDatabase({ path: ':memory:' });
    expect(memory.pragma('journal_mode', { simple: true })).toBe('memory');
    expect(memory.pragma('busy_timeout', { simple: true })).toBe(5000);
    memory.close();
  });

  it('lets a second store read the file while the first one writes', async () => {
    const path = newPath();
    const writer = createSqliteStore({ path });
    const reader = createSqliteStore({ path });
    await writer.open();
    await reader.open(); // migrations already applied: a no-op
    for (let i = 1; i <= 5; i++) {
      await writer.commit(batch(i));
      expect(await reader.loadCheckpoint('shard-0')).toEqual({
        sequenceNumber: String(i),
        subSequenceNumber: 0,
      });
    }
    expect((await reader.getSeries('SKU-1', 'WH-1'))?.onHand).toBe(5);
    await writer.close();
    await reader.close();
  });
});

describe('cachingSqliteDatabase', () => {
  it('prepares each SQL text once, and evicts the least recently used beyond its capacity', () => {
    const raw = new SQLite(':memory:');
    const prepared: string[] = [];
    const cached = cachingSqliteDatabase(
      {
        close: () => raw.close(),
        prepare: (s) => {
          prepared.push(s);
          return raw.prepare(s);
        },
      },
      2,
    );
    const a = cached.prepare('select 1');
    expect(cached.prepare('select 1')).toBe(a);
    cached.prepare('select 2');
    cached.prepare('select 1'); // now the most recent
    cached.prepare('select 3'); // evicts 'select 2'
    cached.prepare('select 1');
    cached.prepare('select 2');
    expect(prepared).toEqual(['select 1', 'select 2', 'select 3', 'select 2']);
    expect(a.all([])).toEqual([{ 1: 1 }]);
    cached.close();
    expect(raw.open).toBe(false);
  });
});

describe('several processes opening one new database file', () => {
  it('migrate it once: every process opens, none sees a half-made schema', async () => {
    const path = newPath();
    const module = pathToFileURL(join(import.meta.dirname, 'sqlite.ts')).href;
    // All start their migration at the same wall-clock instant, as workers of one deployment do.
    const startAt = Date.now() + 1_500;
    const runs = Array.from({ length: 4 }, () => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { createSqliteStore } = await import(${JSON.stringify(module)});
           const store = createSqliteStore({ path: ${JSON.stringify(path)} });
           await new Promise((r) => setTimeout(r, Math.max(0, ${startAt} - Date.now())));
           await store.open();
           await store.close();`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      return new Promise<string>((resolve) =>
        child.on('close', (code) => resolve(`${code} ${stderr}`.trim())),
      );
    });
    expect(await Promise.all(runs)).toEqual(['0', '0', '0', '0']);
    const raw = new SQLite(path);
    const applied = raw.prepare('select name from kysely_migration order by name').all();
    raw.close();
    expect(applied).toHaveLength(Object.keys(storeMigrations('sqlite')).length);
  });
});

describe('several worker processes committing to one file', () => {
  it('queue on the write lock (busy_timeout) instead of failing with "database is locked"', async () => {
    const path = newPath();
    const module = pathToFileURL(join(import.meta.dirname, 'sqlite.ts')).href;
    const first = createSqliteStore({ path });
    await first.open();
    await first.close();
    // Each process commits 60 fenced batches on its own shard and counts the commits that failed.
    const runs = ['shard-a', 'shard-b'].map((shard) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          '--input-type=module',
          '-e',
          `const { createSqliteStore } = await import(${JSON.stringify(module)});
           const store = createSqliteStore({ path: ${JSON.stringify(path)} });
           await store.open();
           let failed = 0, prev = null;
           for (let i = 1; i <= 60; ) {
             const checkpoint = { sequenceNumber: String(i), subSequenceNumber: 0 };
             try {
               await store.commit({ shardId: '${shard}', checkpoint, expectedCheckpoint: prev,
                 series: [{ sku: '${shard}', warehouse: 'WH-1', onHand: i, reserved: 0, inbound: 0,
                   lastCountQuantity: null, lastCountAt: null, salesVelocity: 0, lastEventAt: i, model: '{}' }],
                 values: [], deadLetters: [], anomalies: [],
                 appliedEvents: Array.from({ length: 300 }, (_, e) => ({ eventId: i + '-' + e, occurredAt: i, sku: '${shard}', warehouse: 'WH-1' })),
               });
               prev = checkpoint; i++;
             } catch { failed++; }
           }
           await store.close();
           process.stdout.write(String(failed));`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      return new Promise<string>((resolve) => child.on('close', () => resolve(out.trim())));
    });
    expect(await Promise.all(runs)).toEqual(['0', '0']);
    const store = createSqliteStore({ path });
    await store.open();
    expect(await store.loadCheckpoint('shard-a')).toEqual({ sequenceNumber: '60', subSequenceNumber: 0 });
    expect(await store.loadCheckpoint('shard-b')).toEqual({ sequenceNumber: '60', subSequenceNumber: 0 });
    await store.close();
  });
});

describe('durability across a process crash', () => {
  it('after SIGKILL mid-stream, state and checkpoint agree and every acknowledged commit is there', async () => {
    const path = newPath();
    const module = pathToFileURL(join(import.meta.dirname, 'sqlite.ts')).href;
    // The child commits batch after batch, printing each number once commit() has resolved.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { createSqliteStore } = await import(${JSON.stringify(module)});
         const store = createSqliteStore({ path: ${JSON.stringify(path)} });
         await store.open();
         for (let i = 1; ; i++) {
           await store.commit({
             shardId: 'shard-0', checkpoint: { sequenceNumber: String(i), subSequenceNumber: 0 },
             series: [{ sku: 'SKU-1', warehouse: 'WH-1', onHand: i, reserved: 0, inbound: 0,
               lastCountQuantity: null, lastCountAt: null, salesVelocity: 0, lastEventAt: i, model: '{}' }],
             values: [{ key: 'counter', value: String(i) }],
             appliedEvents: Array.from({ length: 200 }, (_, e) => ({ eventId: i + '-' + e, occurredAt: i, sku: 'SKU-1', warehouse: 'WH-1' })),
             deadLetters: [], anomalies: [],
           });
           process.stdout.write(i + '\\n');
         }`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let acknowledged = 0;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const lines = d.toString().trim().split('\n');
        acknowledged = Number(lines.at(-1));
        // Let it run a while so the kill lands inside some commit, then kill without warning.
        if (acknowledged >= 60 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited early (${code}): ${stderr}`));
      });
    });
    await new Promise((resolve) => child.on('close', resolve));

    const store = createSqliteStore({ path });
    await store.open();
    const checkpoint = await store.loadCheckpoint('shard-0');
    const committed = Number(checkpoint?.sequenceNumber);
    // Everything acknowledged is durable; at most the commit in flight when killed went further.
    expect(committed).toBeGreaterThanOrEqual(acknowledged);
    const state = await store.load();
    expect(state.values).toEqual([{ key: 'counter', value: String(committed) }]);
    expect(state.series[0]?.onHand).toBe(committed);
    expect(state.recentEvents).toHaveLength(committed * 200);
    await store.close();
  });
});
