/** Streams a generated dataset to disk: events.ndjson, labels.ndjson and manifest.json. */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GeneratorOptions, resolveGeneratorOptions } from './options.js';
import { emptyCounts, type GeneratorCounts, simulateInventory } from './simulate.js';

export interface DatasetFile {
  name: string;
  bytes: number;
  lines: number;
  sha256: string;
}

/** What `manifest.json` holds. Nothing time- or machine-dependent, so that it is reproducible too. */
export interface DatasetManifest {
  generator: 'shelfwatch';
  schemaVersion: 1;
  options: GeneratorOptions;
  window: { start: string; end: string };
  counts: GeneratorCounts;
  files: { events: DatasetFile; labels: DatasetFile };
}

export interface WriteProgress {
  day: number;
  days: number;
  records: number;
}

/** A file written in chunks, hashed on the way, waiting for the disk when its buffer is full. */
class HashedFile {
  private readonly stream: WriteStream;
  private readonly hash = createHash('sha256');
  private pending = '';
  bytes = 0;
  lines = 0;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { highWaterMark: 1 << 20 });
  }

  /** Adds a line; resolves at once unless the chunk had to wait for the disk. */
  line(text: string): Promise<void> | undefined {
    this.pending += `${text}\n`;
    this.lines++;
    return this.pending.length >= 1 << 16 ? this.drain() : undefined;
  }

  private drain(): Promise<void> | undefined {
    const chunk = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.stream.write(chunk)) return undefined;
    return new Promise((resolve) => this.stream.once('drain', resolve));
  }

  async close(name: string): Promise<DatasetFile> {
    await this.drain();
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(resolve);
    });
    return { name, bytes: this.bytes, lines: this.lines, sha256: this.hash.digest('hex') };
  }
}

/**
 * Generates a labelled dataset into `outDir` in constant memory. Same options, byte-identical files.
 *
 * @example
 * ```ts
 * const manifest = await writeDataset('data/demo', { seed: 7, days: 14 }, (p) => console.log(p.day));
 * console.log(manifest.counts.records, manifest.files.events.sha256);
 * ```
 */
export async function writeDataset(
  outDir: string,
  partial: Partial<GeneratorOptions> = {},
  onProgress?: (p: WriteProgress) => void,
): Promise<DatasetManifest> {
  const options = resolveGeneratorOptions(partial);
  mkdirSync(outDir, { recursive: true });
  const events = new HashedFile(join(outDir, 'events.ndjson'));
  const labels = new HashedFile(join(outDir, 'labels.ndjson'));
  const counts = emptyCounts();
  for (const out of simulateInventory(options, counts)) {
    let wait: Promise<void> | undefined;
    if (out.type === 'record') wait = events.line(out.line);
    else if (out.type === 'label') wait = labels.line(JSON.stringify(out.label));
    else onProgress?.({ day: out.day, days: out.days, records: counts.records });
    if (wait) await wait;
  }
  const start = Date.parse(options.start);
  const manifest: DatasetManifest = {
    generator: 'shelfwatch',
    schemaVersion: 1,
    options,
    window: {
      start: new Date(start).toISOString(),
      end: new Date(start + options.days * 86_400_000).toISOString(),
    },
    counts,
    files: { events: await events.close('events.ndjson'), labels: await labels.close('labels.ndjson') },
  };
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
