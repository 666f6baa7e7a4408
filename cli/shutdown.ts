/**
 * How `shelfwatch run` ends on SIGTERM or SIGINT: the first signal stops the source (no new batch)
 * and lets the batch in flight finish and checkpoint for `timeoutMs`; then its waits are abandoned
 * (nothing of it is committed, so the next start processes it again). A second signal exits at once.
 * Every step says so in the log, and the first line says a second signal would end it.
 */
import type { Logger } from 'pino';

/**
 * Options of {@link Shutdown}.
 *
 * @example
 * ```ts
 * const options: ShutdownOptions = { timeoutMs: 30_000, log, exit: process.exit };
 * ```
 */
export interface ShutdownOptions {
  timeoutMs: number;
  log: Logger;
  /** Ends the process (a second signal); injectable for tests. */
  exit?: (code: number) => void;
  /** The process to listen on; injectable for tests. */
  on?: Pick<NodeJS.Process, 'on' | 'off'>;
}

/**
 * The job's two stop signals: `stopping` (stop reading) and `abandoning` (stop waiting on the batch).
 *
 * @example
 * ```ts
 * const shutdown = new Shutdown({ timeoutMs: config.shutdown.timeoutMs, log });
 * const engine = createEngine({ signal: shutdown.abandoning });
 * try { await source.run(createProcessor, shutdown.stopping); } finally { shutdown.dispose(); }
 * ```
 */
export class Shutdown {
  private readonly stop = new AbortController();
  private readonly abandon = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly exit: (code: number) => void;
  private readonly target: Pick<NodeJS.Process, 'on' | 'off'>;
  private readonly onSignal = (signal: NodeJS.Signals): void => this.signal(signal);

  constructor(private readonly o: ShutdownOptions) {
    this.exit = o.exit ?? ((code) => process.exit(code));
    this.target = o.on ?? process;
    this.target.on('SIGINT', this.onSignal);
    this.target.on('SIGTERM', this.onSignal);
  }

  /** Aborts when a stop was asked for: the source hands over no new batch. */
  get stopping(): AbortSignal {
    return this.stop.signal;
  }

  /** Aborts `timeoutMs` after the stop: the engine gives up the batch in flight. */
  get abandoning(): AbortSignal {
    return this.abandon.signal;
  }

  /** Asks for a stop, as a signal would. */
  signal(signal: NodeJS.Signals): void {
    const { log, timeoutMs } = this.o;
    if (this.stop.signal.aborted) {
      log.warn(
        { signal },
        'second signal: exiting at once; the batch in flight is not checkpointed and is processed again at the next start',
      );
      this.exit(130);
      return;
    }
    log.info(
      { signal, timeoutMs },
      `stopping: finishing the batch in flight and checkpointing (at most ${timeoutMs / 1000} s; send ${signal} again to exit at once)`,
    );
    this.stop.abort(new Error(`${signal} received`));
    this.timer = setTimeout(() => {
      log.warn({ timeoutMs }, 'shutdown timeout: abandoning the batch in flight');
      this.abandon.abort(
        new Error(`the batch did not finish within the shutdown timeout of ${timeoutMs} ms`),
      );
    }, timeoutMs);
    this.timer.unref();
  }

  /** Stops listening for signals and clears the timer. */
  dispose(): void {
    clearTimeout(this.timer);
    this.target.off('SIGINT', this.onSignal);
    this.target.off('SIGTERM', this.onSignal);
  }
}
