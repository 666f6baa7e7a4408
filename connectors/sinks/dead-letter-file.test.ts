import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../pipeline/ports.js';
import { NdjsonDeadLetterFile } from './dead-letter-file.js';

const dir = mkdtempSync(join(tmpdir(), 'shelfwatch-dead-letter-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const letter = (seq: string, over: Partial<DeadLetter> = {}): DeadLetter => ({
  shardId: 'file-0',
  sequenceNumber: seq,
  subSequenceNumber: 0,
  partitionKey: 'file-0',
  arrivalTimestamp: 1_767_571_200_000,
  code: 'schema',
  reason: 'QTY: expected a finite number, got "n/a"',
  data: Buffer.from(`{"QTY":"n/a","seq":${seq}}`),
  ...over,
});

describe('NdjsonDeadLetterFile', () => {
  it('appends each dead letter once, with its bytes in base64, across reopenings', async () => {
    const path = join(dir, 'sub', 'dead.ndjson');
    const file = await NdjsonDeadLetterFile.open(path);
    await file.write([letter('1'), letter('2', { code: 'future_event', disposition: 'quarantine' })]);
    await file.write([letter('2', { code: 'future_event', disposition: 'quarantine' }), letter('3')]);
    await file.close();
    // A batch written again after a crash (a new process) adds nothing.
    const again = await NdjsonDeadLetterFile.open(path);
    await again.write([letter('1'), letter('3')]);
    await again.close();
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.id, l.code, l.disposition])).toEqual([
      ['file-0/1/0', 'schema', 'dead_letter'],
      ['file-0/2/0', 'future_event', 'quarantine'],
      ['file-0/3/0', 'schema', 'dead_letter'],
    ]);
    expect(Buffer.from(lines[0].data, 'base64').toString()).toBe('{"QTY":"n/a","seq":1}');
  });

  it('refuses at start a path it cannot append to, naming it and the cause', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    const error = await NdjsonDeadLetterFile.open(join(blocker, 'dead.ndjson')).catch((e: unknown) => e);
    // Creating a folder where a file is: EEXIST or ENOTDIR depending on the step that notices.
    expect((error as Error).message).toMatch(
      new RegExp(
        `^deadLetters\\.path ${join(blocker, 'dead.ndjson')}: cannot append to it \\((EEXIST|ENOTDIR)\\)$`,
      ),
    );
  });
});
