/**
 * The registry of sub-commands: names, summaries and help texts, with each command's code behind a
 * dynamic `import()`. `shelfwatch --help` and `shelfwatch <command> --help` load nothing else, and a
 * command loads only its own dependencies (the AWS SDK, the stores and the detectors take most of a
 * second to import). Keep the static imports here to `./help.js` and types.
 */
import {
  EVALUATE_HELP,
  GENERATE_HELP,
  REPLAY_HELP,
  RUN_HELP,
  SCORE_SERIES_HELP,
  TRAIN_HELP,
} from './help.js';

/**
 * A sub-command's code, as its module exports it; its name, summary and help live in {@link commands}.
 *
 * @example
 * ```ts
 * const hello: Command = { name: 'hello', run: async () => 0 };
 * ```
 */
export interface Command {
  readonly name: string;
  /** Runs the command on its arguments (after the command name); resolves to the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/**
 * A sub-command as the CLI lists it, with its code loaded only when it runs.
 *
 * @example
 * ```ts
 * const entry = commands.find((c) => c.name === 'generate')!;
 * process.exitCode = await (await entry.load()).run(['--out', 'data/demo']);
 * ```
 */
export interface CommandEntry {
  readonly name: string;
  /** One line for the command list of `shelfwatch --help`. */
  readonly summary: string;
  /** What `shelfwatch <name> --help` prints: the same text the command itself prints for `--help`. */
  readonly help: string;
  /** Imports the command's module (and so its dependencies). */
  load(): Promise<Command>;
}

/**
 * Every sub-command, in the order `--help` lists them.
 *
 * @example
 * ```ts
 * commands.map((c) => c.name); // ['run', 'train', 'generate', 'evaluate', 'score-series', 'replay']
 * ```
 */
export const commands: readonly CommandEntry[] = [
  {
    name: 'run',
    summary: 'run the stream job (default: live generator, SQLite state, alerts on the console)',
    help: RUN_HELP,
    load: async () => (await import('./run.js')).runCommand,
  },
  {
    name: 'train',
    summary: 'fit the count model (Isolation Forest) on a stream history, for shelfwatch run',
    help: TRAIN_HELP,
    load: async () => (await import('./train.js')).trainCommand,
  },
  {
    name: 'generate',
    summary: 'write a seeded, labelled synthetic inventory stream (events, labels, manifest)',
    help: GENERATE_HELP,
    load: async () => (await import('./generate.js')).generateCommand,
  },
  {
    name: 'evaluate',
    summary: 'score detectors on a labelled CSV (table or series) or a generated dataset folder',
    help: EVALUATE_HELP,
    load: async () => (await import('./evaluate.js')).evaluateCommand,
  },
  {
    name: 'score-series',
    summary: 'score a timestamp,value[,label] CSV point by point with a streaming detector',
    help: SCORE_SERIES_HELP,
    load: async () => (await import('./evaluate.js')).scoreSeriesCommand,
  },
  {
    name: 'replay',
    summary: 'put a dataset on a Kinesis stream (keys SKU × warehouse, optional KPL aggregation)',
    help: REPLAY_HELP,
    load: async () => (await import('./replay.js')).replayCommand,
  },
];
