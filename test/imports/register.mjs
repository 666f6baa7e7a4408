/**
 * `node --import ./test/imports/register.mjs …` with RECORD_IMPORTS=FILE: appends the URL of every module
 * the ESM loader resolves to FILE, one per line, so that a test can see what a command loaded (and what
 * it did not) without relying on timings. Register it after `--import tsx` so that TypeScript files
 * resolve as they do in a run.
 */
import { register } from 'node:module';

const out = process.env.RECORD_IMPORTS;
if (out) register('./hooks.mjs', import.meta.url, { data: { out } });
