/**
 * Progress for long commands, on stderr so that stdout stays clean for data: a bar redrawn in place on
 * a terminal, a line every 10% elsewhere (CI logs, pipes).
 */
export class Progress {
  private lastDraw = 0;
  private lastDecile = -1;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  /** Reports `done` of `total`; `detail` is shown after the bar (e.g. "1.2M events, 250k/s"). A total of 0 means unknown: only the detail is shown. */
  update(done: number, total: number, detail = ''): void {
    if (!this.enabled) return;
    if (total <= 0) {
      const now = Date.now();
      // Unknown length: redraw the detail on a terminal, a line every 5 s elsewhere.
      if (now - this.lastDraw < (this.stream.isTTY ? 100 : 5000)) return;
      this.lastDraw = now;
      this.stream.write(this.stream.isTTY ? `\r${this.label} ${detail}\x1b[K` : `${this.label} ${detail}\n`);
      return;
    }
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    if (this.stream.isTTY) {
      const now = Date.now();
      if (now - this.lastDraw < 100 && fraction < 1) return;
      this.lastDraw = now;
      const width = 30;
      const filled = Math.round(fraction * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      this.stream.write(`\r${this.label} ${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}\x1b[K`);
    } else {
      const decile = Math.floor(fraction * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${this.label} ${(fraction * 100).toFixed(0)}% ${detail}\n`);
    }
  }

  /** Ends the bar with a summary line. */
  done(summary: string): void {
    if (!this.enabled) return;
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    this.stream.write(
      `${this.stream.isTTY ? '\r\x1b[K' : ''}${this.label} done in ${seconds} s: ${summary}\n`,
    );
  }
}

/** 1234567 → "1.23M", 45600 → "45.6k". */
export function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}
