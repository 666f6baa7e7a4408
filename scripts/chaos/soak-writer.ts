/**
 * The soak's instruments: a writer that appends generated records to a file on the wall clock, and the
 * statistics its samples are judged with.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { simulateInventory } from '../../datasets/index.js';

/**
 * Appends simulated records to a file at `rate` a second, on the wall clock: whatever is due is
 * written on each tick, so a stalled tick is made up at the next (as an upstream would).
 *
 * @example
 * ```ts
 * const writer = new PacedWriter('/tmp/soak.ndjson', { seed: 1, days: 90 }, 5_000);
 * writer.start();
 * // … the job tails the file …
 * writer.stop();
 * console.log(writer.written);
 * ```
 */
export class PacedWriter {
  written = 0;
  private readonly fd: number;
  private readonly records: Generator<string>;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private closed = false;

  constructor(
    path: string,
    options: { seed: number; days: number },
    private readonly rate: number,
  ) {
    this.fd = openSync(path, 'w');
    this.records = (function* () {
      for (const o of simulateInventory({
        seed: options.seed,
        days: options.days,
        skus: 1000,
        warehouses: 3,
      }))
        if (o.type === 'record') yield o.line;
    })();
  }

  start(): void {
    this.startedAt = Date.now();
    this.timer = setInterval(() => this.tick(), 50);
  }

  private tick(): void {
    const due = Math.floor(((Date.now() - this.startedAt) / 1000) * this.rate) - this.written;
    const lines: string[] = [];
    for (let i = 0; i < due; i++) {
      const next = this.records.next();
      if (next.done) break;
      lines.push(next.value);
    }
    if (lines.length === 0) return;
    writeSync(this.fd, `${lines.join('\n')}\n`);
    this.written += lines.length;
  }

  /** Stops writing and closes the file (again: a no-op). */
  stop(): void {
    clearInterval(this.timer);
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/**
 * The median (upper middle for an even count).
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export const median = (xs: readonly number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/**
 * Least-squares slope of y over x.
 *
 * @example
 * ```ts
 * slope([0, 1, 2], [1, 3, 5]); // 2
 * ```
 */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const k = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / k;
  const my = ys.reduce((a, b) => a + b, 0) / k;
  let num = 0;
  let den = 0;
  for (let i = 0; i < k; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
