/**
 * The alert router: Alertmanager's deduplication, grouping, routing and throttling, but driven by event
 * time alone. The stream job replays records after a crash and re-runs whole streams; the router must
 * then send the same notifications with the same ids, so it never reads a clock, keeps all its state
 * in a JSON-able form and breaks every tie by a rule rather than by timing.
 *
 * Semantics, in the order an anomaly meets them:
 *
 * 1. **Deduplication** by `type|sku|warehouse`. The router remembers, per key, the event time and
 *    severity of the last anomaly it accepted. A new one is dropped as a repeat (counted in
 *    `stats.deduplicated`) when `|detectedAt − last.detectedAt| < repeatIntervalMs` and its severity is
 *    not higher than the remembered one. A higher severity (info → warning → critical) is an
 *    escalation and passes. An accepted anomaly resets the memory (a late anomaly, older than the
 *    remembered one, raises the remembered severity when it escalates but never moves its time back).
 * 2. **Routing**, per anomaly: routes are tried in order; the first match takes it and ends the search
 *    unless it says `continue`. No match: `defaultReceivers`. Each matched route is a *lane*.
 * 3. **Grouping** by lane and `warehouse|type`. An anomaly joins the lane's newest open group of its
 *    key when its `detectedAt` is before that group's due time; otherwise it opens a new group, due at
 *    `detectedAt + groupWaitMs`. A group is flushed, as one notification per receiver of its lane,
 *    once the watermark reaches its due time (`watermark ≥ dueAt`).
 * 4. **Rate limit**, per receiver: at most `maxPerHour` notifications in any sliding hour of event
 *    time, where a group notification is timed at its due time. A notification over the limit is not
 *    sent to that receiver; its anomalies are *held* for the receiver, counted per group key. Held
 *    anomalies come out in exactly one of two ways, whichever happens first in event time:
 *    - the next notification of the same group key sent to that receiver carries them in `suppressed`
 *      (and takes the higher severity of its own and the held anomalies); or
 *    - as soon as the receiver has room again (its oldest send in the window is an hour old), a
 *      *summary* notification is sent: the group key, no anomalies, `suppressed` = the held count,
 *      the highest held severity. Summaries take room like any notification, oldest held key first.
 *    Since room returns at one precise moment, the summary is the usual path; folding happens when a
 *    notification of the same key is due at that very moment (group flushes win ties). So a summary
 *    waits until every group due at its moment is known: with `groupWaitMs` 0 an on-time anomaly
 *    detected at the watermark opens a group due then, so a summary at the watermark itself is sent
 *    only once the watermark has moved past it (or by `flushAll`).
 *    Times are clamped per receiver so that they never go back (a late group is timed at the
 *    receiver's latest send at the earliest), which keeps the window honest with late data.
 *    So for every receiver, anomalies routed to it = anomalies inside its notifications + the sum of
 *    its notifications' `suppressed` + still held + still pending: nothing vanishes silently.
 *
 * `advance(watermark)` plays every due event (group flushes and summaries) in event-time order; ties go
 * to group flushes first (by due time, then opening order), then summaries (by receiver name). When
 * no anomaly is added behind the watermark, the output therefore depends only on the anomalies and
 * the final watermark, not on how often `advance` was called in between.
 *
 * Notification ids hash receiver-independent content: `sha256(["group", groupKey, ...anomalyIds])`
 * for a group, `sha256(["summary", groupKey, digest of the held anomaly ids])` for a summary (first
 * 32 hex digits). Two receivers of the same group get the same id; their `suppressed` may differ.
 */
import { createHash } from 'node:crypto';
import type { AlertNotification, Anomaly, AnomalyType, Severity } from '../ports.js';
import { AlertRouterInputError, AlertRouterStateError } from './errors.js';
import {
  ALERT_ANOMALY_TYPES,
  type AlertRouterOptions,
  type ResolvedAlertRouterOptions,
  resolveAlertRouterOptions,
  routeMatches,
  SEVERITY_ORDER,
  severityRank,
} from './options.js';

const HOUR_MS = 3_600_000;
/** Persisted-state format; bump when the shape or the meaning of a field changes. */
const STATE_VERSION = 1;
const STATE_KIND = 'shelfwatch.alert-router';

/**
 * A notification addressed to one receiver (a sink name). `at` is the event time the router sent it at
 * (a group's due time, or when a summary found room), for logs and the rate limit's tests.
 *
 * @example
 * ```ts
 * for (const { receiver, notification } of router.advance(watermark)) sinks.get(receiver)?.publish([notification]);
 * ```
 */
export interface RoutedNotification {
  receiver: string;
  at: number;
  notification: AlertNotification;
}

/**
 * Running counts since the router was created (they survive `toJSON`/`fromJSON`). `delivered` and
 * `suppressed` count anomaly × receiver pairs, since one anomaly may go to several receivers.
 *
 * @example
 * ```ts
 * const { added, deduplicated } = router.stats;
 * ```
 */
export interface AlertRouterStats {
  /** Every `add` call. */
  added: number;
  /** Dropped as a repeat of the same type × SKU × warehouse. */
  deduplicated: number;
  /** Passed deduplication (added − deduplicated). */
  accepted: number;
  /** Notifications sent, summaries included. */
  notifications: number;
  /** Of those, summaries of held anomalies. */
  summaries: number;
  /** Anomaly × receiver pairs sent inside a notification's `anomalies`. */
  delivered: number;
  /** Anomaly × receiver pairs held back by the rate limit (reported later as `suppressed`). */
  suppressed: number;
}

interface Group {
  seq: number;
  /** Index of the route, −1 for the default receivers. */
  route: number;
  receivers: string[];
  groupKey: string;
  warehouse: string;
  type: AnomalyType;
  dueAt: number;
  anomalies: Anomaly[];
}

interface Held {
  groupKey: string;
  warehouse: string;
  type: AnomalyType;
  count: number;
  severity: Severity;
  /** Chained hash of the held anomaly ids, so that a summary's id is stable under replay. */
  digest: string;
}

interface ReceiverState {
  /** Send times inside the sliding hour, ascending; at most `maxPerHour` matter. */
  sent: number[];
  /** Latest decision time: times are clamped to it so that `sent` stays sorted with late groups. */
  clock: number;
  /** Held anomalies by group key, oldest first. */
  held: Held[];
}

interface DedupEntry {
  at: number;
  severity: Severity;
}

/**
 * The router's persisted state (`toJSON`). Event times that are not yet set are `null`.
 *
 * @example
 * ```ts
 * await store.put('router', JSON.stringify(router.toJSON()));
 * ```
 */
export interface AlertRouterJSON {
  kind: typeof STATE_KIND;
  version: typeof STATE_VERSION;
  options: ResolvedAlertRouterOptions;
  watermark: number | null;
  /** Hour of event time (`floor(t / 1 h)`) of the last sweep of the deduplication memory. */
  sweptHour: number | null;
  nextSeq: number;
  /** `[key, detectedAt, severity]`, key = JSON `[type, sku, warehouse]`. */
  dedup: Array<[string, number, Severity]>;
  pending: Group[];
  receivers: Array<{ name: string; clock: number | null; sent: number[]; held: Held[] }>;
  stats: AlertRouterStats;
}

/**
 * The id of a notification: a hash of the parts (JSON-encoded, so no separator can be forged).
 *
 * @example
 * ```ts
 * alertNotificationId(['group', 'WH1|shrinkage', 'a1', 'a2']); // 32 hex digits
 * ```
 */
export function alertNotificationId(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

function input(field: string, message: string): never {
  throw new AlertRouterInputError(`anomaly.${field} ${message}`);
}

/** Refuses an anomaly that would poison the persisted state or the notifications. */
function checkAnomaly(a: Anomaly): void {
  if (typeof a !== 'object' || a === null) throw new AlertRouterInputError('anomaly must be an object');
  if (typeof a.id !== 'string' || a.id === '') input('id', 'must be a non-empty string');
  if (!ALERT_ANOMALY_TYPES.includes(a.type))
    input('type', `must be one of ${ALERT_ANOMALY_TYPES.join(', ')}`);
  if (!SEVERITY_ORDER.includes(a.severity)) input('severity', `must be one of ${SEVERITY_ORDER.join(', ')}`);
  if (typeof a.sku !== 'string') input('sku', 'must be a string');
  if (typeof a.warehouse !== 'string') input('warehouse', 'must be a string');
  if (typeof a.detectedAt !== 'number' || !Number.isFinite(a.detectedAt)) {
    input('detectedAt', `must be a finite epoch-ms number (anomaly ${a.id})`);
  }
  if (typeof a.score !== 'number' || !Number.isFinite(a.score))
    input('score', `must be a finite number (anomaly ${a.id})`);
  if (!Array.isArray(a.eventIds) || a.eventIds.some((e) => typeof e !== 'string')) {
    input('eventIds', `must be a list of strings (anomaly ${a.id})`);
  }
  const ex = a.explanation;
  if (
    typeof ex !== 'object' ||
    ex === null ||
    typeof ex.summary !== 'string' ||
    !Array.isArray(ex.features)
  ) {
    input('explanation', `must have a summary and a list of features (anomaly ${a.id})`);
  }
  ex.features.forEach((f, i) => {
    // NaN or Infinity would turn into null in the persisted state, so a resumed run would differ.
    if (!Number.isFinite(f?.observed) || !Number.isFinite(f?.expected)) {
      input(`explanation.features[${i}]`, `must have finite observed and expected values (anomaly ${a.id})`);
    }
  });
}

/**
 * Deduplicates, groups, routes and rate-limits anomalies into notifications, in event time.
 * See the module comment for the exact semantics.
 *
 * @example
 * ```ts
 * const router = new AlertRouter({
 *   routes: [{ match: { severities: ['critical'] }, receivers: ['webhook'], continue: true }],
 *   defaultReceivers: ['console'],
 * });
 * router.add(anomaly);
 * const due = router.advance(watermark); // [{ receiver, at, notification }, …]
 * const state = JSON.stringify(router.toJSON()); // persist with the checkpoint
 * const resumed = AlertRouter.fromJSON(JSON.parse(state));
 * ```
 */
export class AlertRouter {
  private readonly o: ResolvedAlertRouterOptions;
  private watermarkMs = Number.NEGATIVE_INFINITY;
  private sweptHour = Number.NEGATIVE_INFINITY;
  private nextSeq = 0;
  private readonly dedup = new Map<string, DedupEntry>();
  /** Pending groups in opening order. */
  private pending: Group[] = [];
  /** The newest pending group of each lane × group key, the only one an anomaly may join. */
  private readonly open = new Map<string, Group>();
  private readonly receivers = new Map<string, ReceiverState>();
  private readonly counts: AlertRouterStats = {
    added: 0,
    deduplicated: 0,
    accepted: 0,
    notifications: 0,
    summaries: 0,
    delivered: 0,
    suppressed: 0,
  };

  /** @throws {AlertRouterConfigError} naming the first bad option. */
  constructor(options: AlertRouterOptions) {
    this.o = resolveAlertRouterOptions(options);
  }

  /**
   * Restores a router from {@link AlertRouter.toJSON}. With `options`, those replace the persisted
   * ones (a config change across a restart); groups already pending keep the receivers they were
   * opened with, so nothing routed before the change is lost.
   *
   * @throws {AlertRouterStateError} when `json` is not a router state of this version.
   * @example
   * ```ts
   * const router = stored === undefined ? new AlertRouter(options) : AlertRouter.fromJSON(stored, options);
   * ```
   */
  static fromJSON(json: unknown, options?: AlertRouterOptions): AlertRouter {
    const s = readState(json);
    const router = new AlertRouter(options ?? s.options);
    router.watermarkMs = s.watermark ?? Number.NEGATIVE_INFINITY;
    router.sweptHour = s.sweptHour ?? Number.NEGATIVE_INFINITY;
    router.nextSeq = s.nextSeq;
    for (const [key, at, severity] of s.dedup) router.dedup.set(key, { at, severity });
    router.pending = s.pending.map((g) => ({
      ...g,
      receivers: [...g.receivers],
      anomalies: [...g.anomalies],
    }));
    for (const g of router.pending) router.open.set(laneKey(g.route, g.receivers, g.groupKey), g);
    for (const r of s.receivers) {
      router.receivers.set(r.name, {
        sent: [...r.sent],
        clock: r.clock ?? Number.NEGATIVE_INFINITY,
        held: r.held.map((h) => ({ ...h })),
      });
    }
    Object.assign(router.counts, s.stats);
    return router;
  }

  /** The latest watermark passed to {@link AlertRouter.advance} (−∞ before the first). */
  get watermark(): number {
    return this.watermarkMs;
  }

  /** A copy of the running counts. */
  get stats(): AlertRouterStats {
    return { ...this.counts };
  }

  /** Anomaly × receiver pairs waiting in open groups. */
  get pendingDeliveries(): number {
    return this.pending.reduce((n, g) => n + g.anomalies.length * g.receivers.length, 0);
  }

  /** Anomaly × receiver pairs held by the rate limit and not yet reported in a `suppressed` count. */
  get heldDeliveries(): number {
    let n = 0;
    for (const r of this.receivers.values()) for (const h of r.held) n += h.count;
    return n;
  }

  /**
   * Takes one anomaly: drops it as a repeat, or routes it into its groups. Returns whether it was
   * accepted (false: a repeat, counted in `stats.deduplicated`).
   *
   * @throws {AlertRouterInputError} for a malformed anomaly (a detector bug), before any state changes.
   */
  add(anomaly: Anomaly): boolean {
    checkAnomaly(anomaly);
    this.counts.added++;
    const key = JSON.stringify([anomaly.type, anomaly.sku, anomaly.warehouse]);
    const last = this.dedup.get(key);
    if (last) {
      const escalates = severityRank(anomaly.severity) > severityRank(last.severity);
      if (!escalates && Math.abs(anomaly.detectedAt - last.at) < this.o.repeatIntervalMs) {
        this.counts.deduplicated++;
        return false;
      }
      if (anomaly.detectedAt >= last.at)
        this.dedup.set(key, { at: anomaly.detectedAt, severity: anomaly.severity });
      else if (escalates) last.severity = anomaly.severity;
    } else {
      this.dedup.set(key, { at: anomaly.detectedAt, severity: anomaly.severity });
    }
    this.counts.accepted++;
    // A detached, JSON-normal copy: the caller may reuse its object, and a resumed router (which read
    // the anomaly back from JSON) must hold exactly the same value.
    const copy = JSON.parse(JSON.stringify(anomaly)) as Anomaly;
    const groupKey = `${anomaly.warehouse}|${anomaly.type}`;
    for (const [route, receivers] of this.lanes(anomaly)) {
      const lk = laneKey(route, receivers, groupKey);
      const current = this.open.get(lk);
      if (current && anomaly.detectedAt < current.dueAt) {
        current.anomalies.push(copy);
        continue;
      }
      const group: Group = {
        seq: this.nextSeq++,
        route,
        receivers,
        groupKey,
        warehouse: anomaly.warehouse,
        type: anomaly.type,
        dueAt: anomaly.detectedAt + this.o.groupWaitMs,
        anomalies: [copy],
      };
      this.pending.push(group);
      this.open.set(lk, group);
    }
    return true;
  }

  /**
   * Moves event time to `watermarkMs` and returns every notification due by then, in event-time order.
   * A watermark behind the current one does not move it back (it still flushes what is due, such as a
   * group a late anomaly opened). `-Infinity` (no event yet) is accepted and does nothing. With
   * `groupWaitMs` 0, a summary timed exactly at the watermark comes with the next, later watermark.
   *
   * @example
   * ```ts
   * const routed = router.advance(Date.parse('2026-01-05T10:05:00Z'));
   * ```
   */
  advance(watermarkMs: number): RoutedNotification[] {
    if (typeof watermarkMs !== 'number' || Number.isNaN(watermarkMs)) {
      throw new AlertRouterInputError(`watermark must be a number of epoch ms, got ${String(watermarkMs)}`);
    }
    if (watermarkMs > this.watermarkMs) this.watermarkMs = watermarkMs;
    const out = this.drain(this.watermarkMs);
    this.sweep();
    return out;
  }

  /**
   * Sends everything pending, as if event time ran on to the end: every open group, then every held
   * count as summaries once the rate limit has room (in event time, so it never sends more than
   * `maxPerHour` in any hour of its own timeline). Used at shutdown and at the end of a replay. The
   * deduplication memory is kept, so a restart does not repeat what was just sent.
   *
   * @example
   * ```ts
   * await publish(router.flushAll());
   * ```
   */
  flushAll(): RoutedNotification[] {
    return this.drain(Number.POSITIVE_INFINITY);
  }

  /**
   * The whole state (options, watermark, deduplication memory, pending groups, rate-limit windows and
   * held counts, stats) as plain JSON; {@link AlertRouter.fromJSON} resumes it bit-identically.
   */
  toJSON(): AlertRouterJSON {
    const finite = (t: number): number | null => (Number.isFinite(t) ? t : null);
    return {
      kind: STATE_KIND,
      version: STATE_VERSION,
      options: structuredClone(this.o),
      watermark: finite(this.watermarkMs),
      sweptHour: finite(this.sweptHour),
      nextSeq: this.nextSeq,
      dedup: [...this.dedup].map(([k, e]): [string, number, Severity] => [k, e.at, e.severity]),
      pending: structuredClone(this.pending),
      receivers: [...this.receivers].map(([name, r]) => ({
        name,
        clock: finite(r.clock),
        sent: [...r.sent],
        held: r.held.map((h) => ({ ...h })),
      })),
      stats: { ...this.counts },
    };
  }

  /** The lanes (route index and receivers) an anomaly goes to. */
  private lanes(a: Anomaly): Array<[number, string[]]> {
    const lanes: Array<[number, string[]]> = [];
    for (const [i, route] of this.o.routes.entries()) {
      if (!routeMatches(route, a.type, a.severity)) continue;
      lanes.push([i, route.receivers]);
      if (!route.continue) break;
    }
    return lanes.length > 0 ? lanes : [[-1, this.o.defaultReceivers]];
  }

  /** Plays group flushes and summaries due by `limit` in event-time order (see the module comment). */
  private drain(limit: number): RoutedNotification[] {
    const out: RoutedNotification[] = [];
    for (;;) {
      let group: Group | undefined;
      for (const g of this.pending) {
        if (
          g.dueAt <= limit &&
          (!group || g.dueAt < group.dueAt || (g.dueAt === group.dueAt && g.seq < group.seq))
        ) {
          group = g;
        }
      }
      let summary: { name: string; at: number } | undefined;
      for (const [name, r] of this.receivers) {
        if (r.held.length === 0) continue;
        const at = this.roomAt(r);
        if (
          this.summaryDue(at, limit) &&
          (!summary || at < summary.at || (at === summary.at && name < summary.name))
        ) {
          summary = { name, at };
        }
      }
      if (group && (!summary || group.dueAt <= summary.at)) this.flushGroup(group, out);
      else if (summary) this.sendSummary(summary.name, summary.at, out);
      else return out;
    }
  }

  /**
   * Whether a summary timed `at` may be played once the watermark is at `limit`. Group flushes win
   * ties, so a summary must wait until no group due at its time can still open. With `groupWaitMs` 0
   * an on-time anomaly detected at the watermark opens a group due at the watermark, so a summary at
   * the watermark waits for it to move on; otherwise whether it folded or was summarised would
   * depend on whether `advance` ran between the two.
   */
  private summaryDue(at: number, limit: number): boolean {
    return at < limit || (at === limit && this.o.groupWaitMs > 0);
  }

  /** When the receiver next has room: now, or when its oldest counted send turns an hour old. */
  private roomAt(r: ReceiverState): number {
    const max = this.o.maxPerHour;
    return r.sent.length < max ? r.clock : Math.max(r.clock, r.sent[r.sent.length - max] + HOUR_MS);
  }

  /** Advances the receiver's clock to `at` (never back) and forgets sends older than an hour. */
  private tick(r: ReceiverState, at: number): number {
    const t = Math.max(at, r.clock);
    r.clock = t;
    let drop = 0;
    while (drop < r.sent.length && r.sent[drop] <= t - HOUR_MS) drop++;
    if (drop > 0) r.sent.splice(0, drop);
    const excess = r.sent.length - this.o.maxPerHour;
    if (excess > 0) r.sent.splice(0, excess);
    return t;
  }

  private receiver(name: string): ReceiverState {
    let r = this.receivers.get(name);
    if (!r) {
      r = { sent: [], clock: Number.NEGATIVE_INFINITY, held: [] };
      this.receivers.set(name, r);
    }
    return r;
  }

  private flushGroup(g: Group, out: RoutedNotification[]): void {
    this.pending.splice(this.pending.indexOf(g), 1);
    const lk = laneKey(g.route, g.receivers, g.groupKey);
    if (this.open.get(lk) === g) this.open.delete(lk);
    const ids = g.anomalies.map((a) => a.id);
    const id = alertNotificationId(['group', g.groupKey, ...ids]);
    const severity = g.anomalies.reduce<Severity>((s, a) => maxSeverity(s, a.severity), 'info');
    for (const name of g.receivers) {
      const r = this.receiver(name);
      const at = this.tick(r, g.dueAt);
      const heldIndex = r.held.findIndex((h) => h.groupKey === g.groupKey);
      if (r.sent.length < this.o.maxPerHour) {
        const held = heldIndex >= 0 ? r.held.splice(heldIndex, 1)[0] : undefined;
        r.sent.push(at);
        this.counts.notifications++;
        this.counts.delivered += g.anomalies.length;
        out.push({
          receiver: name,
          at,
          notification: {
            id,
            groupKey: g.groupKey,
            warehouse: g.warehouse,
            type: g.type,
            severity: held ? maxSeverity(severity, held.severity) : severity,
            anomalies: g.anomalies,
            suppressed: held?.count ?? 0,
          },
        });
        continue;
      }
      let held = r.held[heldIndex];
      if (!held) {
        held = {
          groupKey: g.groupKey,
          warehouse: g.warehouse,
          type: g.type,
          count: 0,
          severity: 'info',
          digest: '',
        };
        r.held.push(held);
      }
      held.count += g.anomalies.length;
      held.severity = maxSeverity(held.severity, severity);
      held.digest = alertNotificationId([held.digest, ...ids]);
      this.counts.suppressed += g.anomalies.length;
    }
  }

  private sendSummary(name: string, at: number, out: RoutedNotification[]): void {
    const r = this.receiver(name);
    const t = this.tick(r, at);
    const held = r.held.shift();
    if (!held) return;
    r.sent.push(t);
    this.counts.notifications++;
    this.counts.summaries++;
    out.push({
      receiver: name,
      at: t,
      notification: {
        id: alertNotificationId(['summary', held.groupKey, held.digest]),
        groupKey: held.groupKey,
        warehouse: held.warehouse,
        type: held.type,
        severity: held.severity,
        anomalies: [],
        suppressed: held.count,
      },
    });
  }

  /**
   * Forgets deduplication entries that can no longer match an on-time anomaly, once per hour of event
   * time (not per call, and not per batch, so that the state is the same however calls are cut up).
   */
  private sweep(): void {
    const w = this.watermarkMs;
    if (!Number.isFinite(w)) return;
    const hour = Math.floor(w / HOUR_MS);
    if (hour <= this.sweptHour) return;
    this.sweptHour = hour;
    for (const [key, e] of this.dedup) {
      if (e.at + this.o.repeatIntervalMs <= w) this.dedup.delete(key);
    }
  }
}

function laneKey(route: number, receivers: readonly string[], groupKey: string): string {
  return JSON.stringify([route, receivers, groupKey]);
}

// ---- reading a persisted state -------------------------------------------------------------------

function bad(field: string, message: string): never {
  throw new AlertRouterStateError(`alert router state: ${field} ${message}`);
}

function rec(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be an object');
  return v as Record<string, unknown>;
}

function arr(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) bad(field, 'must be a list');
  return v;
}

function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, 'must be a finite number');
  return v;
}

function numOrNull(v: unknown, field: string): number | null {
  return v === null ? null : num(v, field);
}

function str(v: unknown, field: string): string {
  if (typeof v !== 'string') bad(field, 'must be a string');
  return v;
}

function sev(v: unknown, field: string): Severity {
  if (!SEVERITY_ORDER.includes(v as Severity)) bad(field, `must be one of ${SEVERITY_ORDER.join(', ')}`);
  return v as Severity;
}

function anomalyType(v: unknown, field: string): AnomalyType {
  if (!ALERT_ANOMALY_TYPES.includes(v as AnomalyType)) bad(field, 'must be an anomaly type');
  return v as AnomalyType;
}

function held(v: unknown, field: string): Held {
  const h = rec(v, field);
  return {
    groupKey: str(h.groupKey, `${field}.groupKey`),
    warehouse: str(h.warehouse, `${field}.warehouse`),
    type: anomalyType(h.type, `${field}.type`),
    count: num(h.count, `${field}.count`),
    severity: sev(h.severity, `${field}.severity`),
    digest: str(h.digest, `${field}.digest`),
  };
}

/** Checks the shape of a persisted state, so that a corrupt value fails at start-up, not mid-stream. */
function readState(json: unknown): AlertRouterJSON {
  const s = rec(json, 'the value');
  if (s.kind !== STATE_KIND) bad('kind', `must be "${STATE_KIND}", got ${JSON.stringify(s.kind)}`);
  if (s.version !== STATE_VERSION) {
    bad('version', `is ${JSON.stringify(s.version)}; this shelfwatch reads version ${STATE_VERSION} only`);
  }
  const stats = rec(s.stats, 'stats');
  const pending = arr(s.pending, 'pending').map((v, i): Group => {
    const f = `pending[${i}]`;
    const g = rec(v, f);
    const anomalies = arr(g.anomalies, `${f}.anomalies`);
    anomalies.forEach((a, j) => {
      try {
        checkAnomaly(a as Anomaly);
      } catch (err) {
        bad(`${f}.anomalies[${j}]`, `is not an anomaly (${(err as Error).message})`);
      }
    });
    return {
      seq: num(g.seq, `${f}.seq`),
      route: num(g.route, `${f}.route`),
      receivers: arr(g.receivers, `${f}.receivers`).map((r, j) => str(r, `${f}.receivers[${j}]`)),
      groupKey: str(g.groupKey, `${f}.groupKey`),
      warehouse: str(g.warehouse, `${f}.warehouse`),
      type: anomalyType(g.type, `${f}.type`),
      dueAt: num(g.dueAt, `${f}.dueAt`),
      anomalies: anomalies as Anomaly[],
    };
  });
  return {
    kind: STATE_KIND,
    version: STATE_VERSION,
    // Options are checked again by the constructor, with the option named.
    options: rec(s.options, 'options') as unknown as ResolvedAlertRouterOptions,
    watermark: numOrNull(s.watermark, 'watermark'),
    sweptHour: numOrNull(s.sweptHour, 'sweptHour'),
    nextSeq: num(s.nextSeq, 'nextSeq'),
    dedup: arr(s.dedup, 'dedup').map((v, i): [string, number, Severity] => {
      const e = arr(v, `dedup[${i}]`);
      return [str(e[0], `dedup[${i}][0]`), num(e[1], `dedup[${i}][1]`), sev(e[2], `dedup[${i}][2]`)];
    }),
    pending,
    receivers: arr(s.receivers, 'receivers').map((v, i) => {
      const f = `receivers[${i}]`;
      const r = rec(v, f);
      return {
        name: str(r.name, `${f}.name`),
        clock: numOrNull(r.clock, `${f}.clock`),
        sent: arr(r.sent, `${f}.sent`).map((t, j) => num(t, `${f}.sent[${j}]`)),
        held: arr(r.held, `${f}.held`).map((h, j) => held(h, `${f}.held[${j}]`)),
      };
    }),
    stats: {
      added: num(stats.added, 'stats.added'),
      deduplicated: num(stats.deduplicated, 'stats.deduplicated'),
      accepted: num(stats.accepted, 'stats.accepted'),
      notifications: num(stats.notifications, 'stats.notifications'),
      summaries: num(stats.summaries, 'stats.summaries'),
      delivered: num(stats.delivered, 'stats.delivered'),
      suppressed: num(stats.suppressed, 'stats.suppressed'),
    },
  };
}
