import { describe, expect, it } from 'vitest';
import type { Anomaly } from '../ports.js';
import { AlertRouterConfigError, AlertRouterInputError, AlertRouterStateError } from './errors.js';
import { type AlertRouterOptions, resolveAlertRouterOptions } from './options.js';
import { AlertRouter, alertNotificationId, type RoutedNotification } from './router.js';
import { HOUR, MINUTE, makeAnomaly, T0 } from './testing.js';

const base: AlertRouterOptions = { defaultReceivers: ['console'] };

function route(router: AlertRouter, anomalies: Anomaly[], watermark: number): RoutedNotification[] {
  for (const a of anomalies) router.add(a);
  return router.advance(watermark);
}

describe('AlertRouter options', () => {
  it('applies the defaults', () => {
    expect(resolveAlertRouterOptions(base)).toEqual({
      routes: [],
      defaultReceivers: ['console'],
      groupWaitMs: 300_000,
      repeatIntervalMs: 21_600_000,
      maxPerHour: 60,
    });
  });

  it.each([
    [{ ...base, maxPerHour: 0 }, /^maxPerHour must be a whole number from 1 to 100000, got 0$/],
    [{ ...base, groupWaitMs: -1 }, /^groupWaitMs must be a whole number of milliseconds ≥ 0, got -1$/],
    [{ ...base, repeatIntervalMs: '6h' }, /^repeatIntervalMs must .* got "6h"$/],
    [{ ...base, groupWait: 10 }, /^groupWait is not an option/],
    [{ defaultReceivers: [] }, /^defaultReceivers must name at least one receiver: no route matches/],
    [{ defaultReceivers: ['a', 'a'] }, /^defaultReceivers\[1\] names "a" a second time$/],
    [{ ...base, routes: [{ receivers: [] }] }, /^routes\[0\]\.receivers must name at least one receiver$/],
    [
      {
        ...base,
        routes: [{ receivers: ['x'] }, { match: { types: ['shrinkage', 'theft'] }, receivers: ['y'] }],
      },
      /^routes\[1\]\.match\.types\[1\] must be one of shrinkage, .* got "theft"$/,
    ],
    [
      { ...base, routes: [{ match: { severities: [] }, receivers: ['x'] }] },
      /routes\[0\]\.match\.severities must not/,
    ],
    [
      { ...base, routes: [{ match: { severity: ['info'] }, receivers: ['x'] }] },
      /routes\[0\]\.match\.severity is not/,
    ],
    [
      { ...base, routes: [{ receivers: ['x'], continue: 'yes' }] },
      /^routes\[0\]\.continue must be true or false/,
    ],
  ])('rejects %j naming the option', (options, message) => {
    expect(() => new AlertRouter(options as AlertRouterOptions)).toThrow(AlertRouterConfigError);
    expect(() => new AlertRouter(options as AlertRouterOptions)).toThrow(message);
  });

  it('accepts no default receivers when the routes together match everything', () => {
    const routes = [
      { match: { severities: ['critical' as const] }, receivers: ['pager'] },
      { match: { severities: ['warning' as const, 'info' as const] }, receivers: ['console'] },
    ];
    expect(() => new AlertRouter({ routes })).not.toThrow();
    expect(() => new AlertRouter({ routes: routes.slice(0, 1) })).toThrow(
      /no route matches a info shrinkage/,
    );
  });

  it('refuses a malformed anomaly before touching the state', () => {
    const router = new AlertRouter(base);
    expect(() => router.add(makeAnomaly({ id: 'a', detectedAt: Number.NaN }))).toThrow(AlertRouterInputError);
    expect(() => router.add(makeAnomaly({ id: 'a', type: 'theft' as 'shrinkage' }))).toThrow(/anomaly\.type/);
    expect(() => router.advance(Number.NaN)).toThrow(AlertRouterInputError);
    expect(router.stats.added).toBe(0);
  });
});

describe('AlertRouter deduplication', () => {
  const opts = { ...base, groupWaitMs: 0 };

  it('drops a repeat inside the repeat interval and counts it', () => {
    const router = new AlertRouter(opts);
    expect(router.add(makeAnomaly({ id: 'a1', detectedAt: T0 }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'a2', detectedAt: T0 + 6 * HOUR - 1 }))).toBe(false);
    // Another SKU, warehouse or type is another key.
    expect(router.add(makeAnomaly({ id: 'a3', detectedAt: T0 + HOUR, sku: 'SKU-2' }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'a4', detectedAt: T0 + HOUR, warehouse: 'WH2' }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'a5', detectedAt: T0 + HOUR, type: 'phantom_stock' }))).toBe(true);
    const out = router.flushAll();
    expect(out.flatMap((r) => r.notification.anomalies.map((a) => a.id))).toEqual(['a1', 'a3', 'a4', 'a5']);
    expect(router.stats).toMatchObject({ added: 5, deduplicated: 1, accepted: 4, delivered: 4 });
  });

  it('passes a repeat at or beyond the interval, and restarts the interval from it', () => {
    const router = new AlertRouter(opts);
    expect(router.add(makeAnomaly({ id: 'a1', detectedAt: T0 }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'a2', detectedAt: T0 + 6 * HOUR }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'a3', detectedAt: T0 + 11 * HOUR }))).toBe(false);
    expect(router.add(makeAnomaly({ id: 'a4', detectedAt: T0 + 12 * HOUR }))).toBe(true);
  });

  it('lets an escalation through, but not a de-escalation or a repeat of the escalated severity', () => {
    const router = new AlertRouter(opts);
    expect(router.add(makeAnomaly({ id: 'w1', detectedAt: T0, severity: 'info' }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'w2', detectedAt: T0 + MINUTE, severity: 'warning' }))).toBe(true);
    expect(router.add(makeAnomaly({ id: 'c1', detectedAt: T0 + 2 * MINUTE, severity: 'critical' }))).toBe(
      true,
    );
    expect(router.add(makeAnomaly({ id: 'c2', detectedAt: T0 + 3 * MINUTE, severity: 'critical' }))).toBe(
      false,
    );
    expect(router.add(makeAnomaly({ id: 'w3', detectedAt: T0 + 4 * MINUTE, severity: 'warning' }))).toBe(
      false,
    );
    expect(router.stats.deduplicated).toBe(2);
  });

  it('drops a replayed anomaly (same id, same time) and a late one inside the interval', () => {
    const router = new AlertRouter(opts);
    const a = makeAnomaly({ id: 'a1', detectedAt: T0 + 3 * HOUR });
    router.add(a);
    expect(router.add(a)).toBe(false);
    expect(router.add(makeAnomaly({ id: 'late', detectedAt: T0 }))).toBe(false);
    expect(router.add(makeAnomaly({ id: 'older', detectedAt: T0 - 3 * HOUR }))).toBe(true);
  });

  it('still deduplicates after the memory is swept, for anomalies on time', () => {
    const router = new AlertRouter(opts);
    router.add(makeAnomaly({ id: 'a1', detectedAt: T0 }));
    router.advance(T0 + 5 * HOUR);
    expect(router.add(makeAnomaly({ id: 'a2', detectedAt: T0 + 5 * HOUR }))).toBe(false);
    router.advance(T0 + 7 * HOUR);
    expect(router.toJSON().dedup).toHaveLength(0);
    expect(router.add(makeAnomaly({ id: 'a3', detectedAt: T0 + 7 * HOUR }))).toBe(true);
  });
});

describe('AlertRouter grouping', () => {
  it('groups by warehouse and type and flushes when the watermark reaches first + groupWait', () => {
    const router = new AlertRouter(base);
    route(
      router,
      [
        makeAnomaly({ id: 'a1', sku: 'S1', detectedAt: T0 }),
        makeAnomaly({ id: 'a2', sku: 'S2', detectedAt: T0 + 2 * MINUTE, severity: 'critical' }),
        makeAnomaly({ id: 'b1', sku: 'S1', detectedAt: T0 + MINUTE, warehouse: 'WH2' }),
        makeAnomaly({ id: 'c1', sku: 'S1', detectedAt: T0 + MINUTE, type: 'stuck_feed' }),
      ],
      T0 + 2 * MINUTE,
    );
    expect(router.advance(T0 + 5 * MINUTE - 1)).toEqual([]);
    const first = router.advance(T0 + 5 * MINUTE);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      receiver: 'console',
      at: T0 + 5 * MINUTE,
      notification: { groupKey: 'WH1|shrinkage', warehouse: 'WH1', type: 'shrinkage', severity: 'critical' },
    });
    expect(first[0].notification.anomalies.map((a) => a.id)).toEqual(['a1', 'a2']);
    const rest = router.advance(T0 + 6 * MINUTE);
    expect(rest.map((r) => r.notification.groupKey)).toEqual(['WH2|shrinkage', 'WH1|stuck_feed']);
  });

  it('opens a new group for an anomaly at or after the open group is due, even before the flush', () => {
    const router = new AlertRouter(base);
    router.add(makeAnomaly({ id: 'a1', sku: 'S1', detectedAt: T0 }));
    router.add(makeAnomaly({ id: 'a2', sku: 'S2', detectedAt: T0 + 5 * MINUTE }));
    const out = router.advance(T0 + 10 * MINUTE);
    expect(out.map((r) => r.notification.anomalies.map((a) => a.id))).toEqual([['a1'], ['a2']]);
    expect(out.map((r) => r.at)).toEqual([T0 + 5 * MINUTE, T0 + 10 * MINUTE]);
  });

  it('returns everything pending on flushAll and keeps the deduplication memory', () => {
    const router = new AlertRouter(base);
    router.add(makeAnomaly({ id: 'a1', detectedAt: T0 }));
    expect(router.flushAll().map((r) => r.notification.anomalies[0].id)).toEqual(['a1']);
    expect(router.flushAll()).toEqual([]);
    expect(router.add(makeAnomaly({ id: 'a2', detectedAt: T0 + MINUTE }))).toBe(false);
  });

  it('does not move the watermark back, but flushes a group a late anomaly opened', () => {
    const router = new AlertRouter(base);
    router.advance(T0 + HOUR);
    router.add(makeAnomaly({ id: 'late', detectedAt: T0 }));
    const out = router.advance(T0);
    expect(out.map((r) => r.notification.anomalies[0].id)).toEqual(['late']);
    expect(router.watermark).toBe(T0 + HOUR);
    expect(router.advance(Number.NEGATIVE_INFINITY)).toEqual([]);
  });
});

describe('AlertRouter routing', () => {
  const options: AlertRouterOptions = {
    routes: [
      { match: { severities: ['critical'] }, receivers: ['pager'], continue: true },
      { match: { types: ['stuck_feed'] }, receivers: ['ops'] },
      { match: { types: ['stuck_feed', 'shrinkage'] }, receivers: ['never-for-stuck-feed'] },
    ],
    defaultReceivers: ['console', 'file'],
    groupWaitMs: 0,
  };

  function receiversOf(a: Anomaly): string[] {
    const router = new AlertRouter(options);
    router.add(a);
    return router.flushAll().map((r) => r.receiver);
  }

  it('takes the first match, continues when told, and falls back to the defaults', () => {
    expect(receiversOf(makeAnomaly({ id: 'a', type: 'stuck_feed', severity: 'warning' }))).toEqual(['ops']);
    expect(receiversOf(makeAnomaly({ id: 'a', type: 'stuck_feed', severity: 'critical' }))).toEqual([
      'pager',
      'ops',
    ]);
    expect(receiversOf(makeAnomaly({ id: 'a', type: 'shrinkage', severity: 'critical' }))).toEqual([
      'pager',
      'never-for-stuck-feed',
    ]);
    expect(receiversOf(makeAnomaly({ id: 'a', type: 'sales_spike', severity: 'critical' }))).toEqual([
      'pager',
    ]);
    expect(receiversOf(makeAnomaly({ id: 'a', type: 'sales_spike', severity: 'info' }))).toEqual([
      'console',
      'file',
    ]);
  });

  it('groups per route: criticals and warnings of one group key go to their own receivers', () => {
    const router = new AlertRouter({ ...options, groupWaitMs: 5 * MINUTE });
    router.add(makeAnomaly({ id: 'c', sku: 'S1', severity: 'critical', type: 'sales_spike' }));
    router.add(makeAnomaly({ id: 'w', sku: 'S2', severity: 'warning', type: 'sales_spike' }));
    const out = router.flushAll();
    expect(out.map((r) => [r.receiver, r.notification.anomalies.map((a) => a.id)])).toEqual([
      ['pager', ['c']],
      ['console', ['w']],
      ['file', ['w']],
    ]);
    // Same content, same id, whoever receives it.
    expect(out[1].notification.id).toBe(out[2].notification.id);
    expect(out[0].notification.id).not.toBe(out[1].notification.id);
  });
});

describe('AlertRouter rate limit', () => {
  const opts = { ...base, groupWaitMs: 0, maxPerHour: 2 };
  /** One anomaly per distinct SKU, so that none is deduplicated; each minute a new group. */
  const burst = (n: number, start = T0, warehouse = 'WH1') =>
    Array.from({ length: n }, (_, i) =>
      makeAnomaly({
        id: `${warehouse}-${start}-${i}`,
        sku: `S${i}`,
        warehouse,
        detectedAt: start + i * MINUTE,
      }),
    );

  it('sends at most maxPerHour per sliding hour and reports the rest in a summary when room returns', () => {
    const router = new AlertRouter(opts);
    const out = route(router, burst(5), T0 + 2 * HOUR);
    expect(out.map((r) => [r.at - T0, r.notification.anomalies.length, r.notification.suppressed])).toEqual([
      [0, 1, 0],
      [MINUTE, 1, 0],
      // Room again an hour after the first send: the held three come out as one summary.
      [HOUR, 0, 3],
    ]);
    expect(out[2].notification).toMatchObject({
      groupKey: 'WH1|shrinkage',
      severity: 'warning',
      anomalies: [],
    });
    expect(router.stats).toMatchObject({ delivered: 2, suppressed: 3, summaries: 1, notifications: 3 });
  });

  it('folds held anomalies into the next notification of the same group when it comes first', () => {
    const router = new AlertRouter({ ...opts, maxPerHour: 1 });
    router.add(makeAnomaly({ id: 'a1', sku: 'S1', detectedAt: T0 }));
    router.add(makeAnomaly({ id: 'a2', sku: 'S2', detectedAt: T0 + MINUTE, severity: 'critical' }));
    router.add(makeAnomaly({ id: 'a3', sku: 'S3', detectedAt: T0 + HOUR }));
    const out = router.advance(T0 + 2 * HOUR);
    expect(out.map((r) => [r.notification.anomalies.map((a) => a.id), r.notification.suppressed])).toEqual([
      [['a1'], 0],
      [['a3'], 1],
    ]);
    // The held critical raises the severity of the notification that reports it.
    expect(out[1].notification.severity).toBe('critical');
  });

  // Issue 11 item 9: the property "does not depend on how often advance is called" failed with seed
  // -210279417, path 186:0:0:2:2:3:3:3:7:7:10:10:10:12:12:12:12; this is its counterexample.
  it('folds held anomalies into a group due when room returns, however often advance is called', () => {
    const options = { ...base, groupWaitMs: 0, repeatIntervalMs: 0, maxPerHour: 1 };
    const [a0, a1, a3] = [0, 30, 60].map((m, i) =>
      makeAnomaly({ id: `a${i === 2 ? 3 : i}`, sku: 'S1', severity: 'info', detectedAt: T0 + m * MINUTE }),
    );
    const fine = new AlertRouter(options);
    const fineOut = [a0, a1, a3].flatMap((a) => {
      fine.add(a);
      return fine.advance(a.detectedAt);
    });
    fineOut.push(...fine.flushAll());
    const coarse = new AlertRouter(options);
    coarse.add(a0);
    coarse.add(a1);
    // Room returns at T0 + 1 h, the very moment a3's group is due: a3 has not arrived yet, but may.
    const coarseOut = coarse.advance(T0 + HOUR);
    coarse.add(a3);
    coarseOut.push(...coarse.flushAll());
    const shape = (out: RoutedNotification[]) =>
      out.map((r) => [r.at - T0, r.notification.anomalies.map((a) => a.id), r.notification.suppressed]);
    expect(shape(coarseOut)).toEqual([
      [0, ['a0'], 0],
      [HOUR, ['a3'], 1],
    ]);
    expect(coarseOut).toEqual(fineOut);
    expect(coarse.stats).toEqual(fine.stats);
  });

  it('sends a summary at the watermark only once no group due then can still open', () => {
    const held = (groupWaitMs: number) => {
      const router = new AlertRouter({ ...opts, groupWaitMs, maxPerHour: 1 });
      router.add(makeAnomaly({ id: 'a1', sku: 'S1', detectedAt: T0 }));
      router.add(makeAnomaly({ id: 'a2', sku: 'S2', detectedAt: T0 + groupWaitMs + MINUTE }));
      return router;
    };
    // groupWaitMs 0: an anomaly at T0 + 1 h could still open a group due then, which would win the tie.
    const instant = held(0);
    expect(instant.advance(T0 + HOUR).map((r) => r.at - T0)).toEqual([0]);
    expect(instant.advance(T0 + HOUR + 1).map((r) => [r.at - T0, r.notification.suppressed])).toEqual([
      [HOUR, 1],
    ]);
    // With a group wait, any group opened from now on is due later: the summary goes out at once.
    const waiting = held(5 * MINUTE);
    const room = T0 + 5 * MINUTE + HOUR;
    expect(waiting.advance(room).map((r) => [r.at - T0, r.notification.suppressed])).toEqual([
      [5 * MINUTE, 0],
      [room - T0, 1],
    ]);
  });

  it('keeps receivers apart and accounts for every anomaly', () => {
    const router = new AlertRouter({
      routes: [
        { match: { types: ['shrinkage'] }, receivers: ['a', 'b'], continue: true },
        { receivers: ['b'] },
      ],
      groupWaitMs: 0,
      maxPerHour: 3,
    });
    const anomalies = [...burst(10), ...burst(4, T0 + 30 * MINUTE, 'WH2'), ...burst(4, T0 + 3 * HOUR, 'WH3')];
    const out = route(router, anomalies, T0 + 3 * HOUR + 10 * MINUTE);
    out.push(...router.flushAll());
    for (const receiver of ['a', 'b']) {
      const mine = out.filter((r) => r.receiver === receiver);
      const carried = mine.reduce(
        (n, r) => n + r.notification.anomalies.length + r.notification.suppressed,
        0,
      );
      // b gets each anomaly twice (two matching routes), a once.
      expect(carried).toBe(receiver === 'a' ? anomalies.length : 2 * anomalies.length);
      for (const r of mine) {
        expect(mine.filter((s) => s.at > r.at - HOUR && s.at <= r.at).length).toBeLessThanOrEqual(3);
      }
    }
    const s = router.stats;
    const sum = (f: (r: RoutedNotification) => number) => out.reduce((n, r) => n + f(r), 0);
    expect(s.delivered).toBe(sum((r) => r.notification.anomalies.length));
    expect(s.suppressed).toBe(sum((r) => r.notification.suppressed));
    expect(s.delivered + s.suppressed).toBe(3 * anomalies.length);
    expect(router.heldDeliveries + router.pendingDeliveries).toBe(0);
  });
});

describe('AlertRouter ids and state', () => {
  const anomalies = [
    makeAnomaly({ id: 'a1', sku: 'S1', detectedAt: T0 }),
    makeAnomaly({ id: 'a2', sku: 'S2', detectedAt: T0 + MINUTE }),
    makeAnomaly({ id: 'b1', sku: 'S1', detectedAt: T0 + MINUTE, warehouse: 'WH2' }),
  ];

  it('gives the same ids for the same anomalies in the same order, run after run', () => {
    const run = () => route(new AlertRouter(base), anomalies, T0 + HOUR).map((r) => r.notification.id);
    const ids = run();
    expect(ids).toHaveLength(2);
    expect(run()).toEqual(ids);
    expect(ids[0]).toBe(alertNotificationId(['group', 'WH1|shrinkage', 'a1', 'a2']));
    expect(ids[0]).toMatch(/^[0-9a-f]{32}$/);
    // Pinned: a changed hash would make every sink re-send what it already has after an upgrade.
    expect(ids[0]).toBe('5ff7c14e892abd3f801c62bdd2b73167');
  });

  it('round-trips its state through JSON bit-identically', () => {
    const router = new AlertRouter({ ...base, maxPerHour: 1 });
    route(router, anomalies, T0 + 6 * MINUTE);
    router.add(makeAnomaly({ id: 'a9', sku: 'S9', detectedAt: T0 + 7 * MINUTE }));
    const text = JSON.stringify(router.toJSON());
    const resumed = AlertRouter.fromJSON(JSON.parse(text));
    expect(JSON.stringify(resumed.toJSON())).toBe(text);
    expect(resumed.flushAll()).toEqual(router.flushAll());
    expect(resumed.stats).toEqual(router.stats);
  });

  it('refuses a state of another kind or version, or a malformed one, naming the field', () => {
    const good = new AlertRouter(base).toJSON();
    expect(() => AlertRouter.fromJSON({ ...good, version: 2 })).toThrow(AlertRouterStateError);
    expect(() => AlertRouter.fromJSON({ ...good, version: 2 })).toThrow(/version is 2/);
    expect(() => AlertRouter.fromJSON('nope')).toThrow(/the value must be an object/);
    expect(() => AlertRouter.fromJSON({ ...good, dedup: [['k', 'x', 'info']] })).toThrow(/dedup\[0\]\[1\]/);
    expect(() => AlertRouter.fromJSON({ ...good, options: { ...good.options, maxPerHour: -1 } })).toThrow(
      AlertRouterConfigError,
    );
  });

  it('resumes with new options, sending pending groups to the receivers they were opened with', () => {
    const router = new AlertRouter(base);
    router.add(anomalies[0]);
    const resumed = AlertRouter.fromJSON(router.toJSON(), { defaultReceivers: ['webhook'] });
    resumed.add(makeAnomaly({ id: 'x', sku: 'S7', detectedAt: T0 + MINUTE }));
    expect(resumed.flushAll().map((r) => [r.receiver, r.notification.anomalies.map((a) => a.id)])).toEqual([
      ['console', ['a1']],
      ['webhook', ['x']],
    ]);
  });
});
