import { evaluateCommand, scoreSeriesCommand } from './evaluate.js';
import { generateCommand } from './generate.js';
import { replayCommand } from './replay.js';
import { runCommand } from './run.js';
import { trainCommand } from './train.js';

/** A sub-command of the `shelfwatch` CLI. */
export interface Command {
  readonly name: string;
  /** One line for the command list of `shelfwatch --help`. */
  readonly summary: string;
  /** Runs with the arguments after the command's name; resolves to the process exit code. */
  run(argv: readonly string[]): Promise<number>;
}

/** Every sub-command, in the order `--help` lists them. */
export const commands: readonly Command[] = [
  runCommand,
  trainCommand,
  generateCommand,
  evaluateCommand,
  scoreSeriesCommand,
  replayCommand,
];
