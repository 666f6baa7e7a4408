/**
 * Writes docs/configuration.md from the configuration schema (`npm run docs:config`); `--check` only
 * says whether the file is current (exit 1 when not), for CI and pre-commit hooks.
 *
 *   npm run docs:config [-- --check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderConfigReference } from '../pipeline/config/reference.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const target = new URL('../docs/configuration.md', import.meta.url);
const wanted = renderConfigReference();
let current: string | undefined;
try {
  current = readFileSync(target, 'utf8');
} catch {
  current = undefined;
}
if (values.check) {
  if (current !== wanted) {
    process.stderr.write('docs/configuration.md is out of date: run npm run docs:config\n');
    process.exit(1);
  }
} else if (current !== wanted) {
  writeFileSync(target, wanted);
  process.stdout.write('docs/configuration.md written\n');
} else {
  process.stdout.write('docs/configuration.md is up to date\n');
}
