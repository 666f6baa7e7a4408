/**
 * Vitest setup file, run in each test worker before each file: every fast-check property uses the
 * run's seed (picked and printed by `test/fast-check-seed.ts`), so a printed seed replays the run.
 * A property that passes its own `seed` keeps it.
 */
import fc from 'fast-check';
import { inject } from 'vitest';

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: inject('fcSeed') });
