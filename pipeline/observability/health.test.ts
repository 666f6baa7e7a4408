import { describe, expect, it } from 'vitest';
import { DependencyHealth } from './health.js';

describe('DependencyHealth', () => {
  it('names what has failed for long enough, since its first failure, with the last cause', () => {
    let now = 1_000_000;
    const health = new DependencyHealth(() => now);
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    });
    health.failed('sink slack', refused);
    now += 30_000;
    health.failed('sink slack', refused);
    health.failed(
      'state store',
      Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
    );
    expect(health.failingFor(60_000)).toEqual([]);
    now += 31_000;
    const failing = health.failingFor(60_000);
    expect(failing.map((f) => f.what)).toEqual(['sink slack']);
    expect(health.describe(failing)).toBe(
      'sink slack failing for 61 s: fetch failed: connect ECONNREFUSED 127.0.0.1:9',
    );
    health.recovered('sink slack');
    now += 60_000;
    expect(health.failingFor(60_000).map((f) => f.what)).toEqual(['state store']);
    expect(health.failingFor(0).map((f) => f.cause)).toEqual(['database or disk is full (SQLITE_FULL)']);
  });
});
