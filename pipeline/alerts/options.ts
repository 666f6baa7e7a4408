/**
 * The alert router's options and their validation. Validation happens once, up front, with messages
 * that name the option and the value, because a routing mistake otherwise shows up hours later as an
 * alert that never arrived.
 */
import { ANOMALY_TYPES, type AnomalyType, type Severity } from '../ports.js';
import { AlertRouterConfigError } from './errors.js';

/**
 * Every anomaly type, in the order of {@link AnomalyType}. The router checks route matches against it.
 *
 * @example
 * ```ts
 * ALERT_ANOMALY_TYPES.includes('shrinkage'); // true
 * ```
 */
export const ALERT_ANOMALY_TYPES: readonly AnomalyType[] = ANOMALY_TYPES;

/**
 * Every severity, lowest first, so that an index is a rank (`critical` outranks `warning`).
 *
 * @example
 * ```ts
 * SEVERITY_ORDER.indexOf('critical') > SEVERITY_ORDER.indexOf('warning'); // true
 * ```
 */
export const SEVERITY_ORDER: readonly Severity[] = ['info', 'warning', 'critical'];

/**
 * The rank of a severity: 0 for `info`, 1 for `warning`, 2 for `critical`.
 *
 * @example
 * ```ts
 * severityRank('critical'); // 2
 * ```
 */
export function severityRank(s: Severity): number {
  return SEVERITY_ORDER.indexOf(s);
}

/**
 * Which anomalies a route takes; a missing list matches every value, both lists must match.
 *
 * @example
 * ```ts
 * const match: AlertRouteMatch = { types: ['shrinkage'], severities: ['critical'] };
 * ```
 */
export interface AlertRouteMatch {
  types?: AnomalyType[];
  severities?: Severity[];
}

/**
 * One route of the flattened route tree (Alertmanager's `routes`): matching anomalies go to
 * `receivers` (sink names). Routes are tried in order and the first match wins, unless it says
 * `continue`, in which case later routes are tried too.
 *
 * @example
 * ```ts
 * const pager: AlertRoute = { match: { severities: ['critical'] }, receivers: ['pager'], continue: true };
 * ```
 */
export interface AlertRoute {
  match?: AlertRouteMatch;
  receivers: string[];
  continue?: boolean;
}

/**
 * What the router does. Every duration is event time in milliseconds: the router never reads a clock.
 *
 * @example
 * ```ts
 * const options: AlertRouterOptions = {
 *   routes: [{ match: { severities: ['critical'] }, receivers: ['webhook'] }],
 *   defaultReceivers: ['console'],
 * };
 * ```
 */
export interface AlertRouterOptions {
  /** Tried in order; default none (everything goes to `defaultReceivers`). */
  routes?: AlertRoute[];
  /**
   * Receivers of an anomaly no route matched. May be empty only when the routes together match every
   * type × severity, so that no anomaly can fall through unrouted.
   */
  defaultReceivers?: string[];
  /** How long a new group waits (from its first anomaly's `detectedAt`) for more. Default 5 min. */
  groupWaitMs?: number;
  /** A repeat of the same type × SKU × warehouse within this of the last accepted one is dropped. Default 6 h. */
  repeatIntervalMs?: number;
  /** Notifications per receiver per sliding hour of event time. Default 60. */
  maxPerHour?: number;
}

/**
 * Options with every default applied and every value checked; this is what the router persists.
 *
 * @example
 * ```ts
 * const resolved: ResolvedAlertRouterOptions = resolveAlertRouterOptions({ defaultReceivers: ['console'] });
 * ```
 */
export interface ResolvedAlertRouterOptions {
  routes: Array<{
    match: { types?: AnomalyType[]; severities?: Severity[] };
    receivers: string[];
    continue: boolean;
  }>;
  defaultReceivers: string[];
  groupWaitMs: number;
  repeatIntervalMs: number;
  maxPerHour: number;
}

/**
 * The defaults: Alertmanager's `group_wait` of 5 minutes isn't its default (30 s) because inventory
 * anomalies trickle in over minutes of event time; 6 h of repeat interval keeps a shrinking SKU from
 * paging all day; 60 per hour is one a minute, about what a person reads.
 *
 * @example
 * ```ts
 * DEFAULT_ALERT_ROUTER_OPTIONS.groupWaitMs; // 300000
 * ```
 */
export const DEFAULT_ALERT_ROUTER_OPTIONS: Readonly<{
  groupWaitMs: number;
  repeatIntervalMs: number;
  maxPerHour: number;
}> = { groupWaitMs: 300_000, repeatIntervalMs: 21_600_000, maxPerHour: 60 };

/** Upper bound of `maxPerHour`: the router keeps one timestamp per allowed notification and receiver. */
const MAX_PER_HOUR_LIMIT = 100_000;
const KNOWN_KEYS = new Set(['routes', 'defaultReceivers', 'groupWaitMs', 'repeatIntervalMs', 'maxPerHour']);
const ROUTE_KEYS = new Set(['match', 'receivers', 'continue']);
const MATCH_KEYS = new Set(['types', 'severities']);

function fail(message: string): never {
  throw new AlertRouterConfigError(message);
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function rejectUnknownKeys(where: string, v: Record<string, unknown>, known: ReadonlySet<string>): void {
  for (const key of Object.keys(v)) {
    if (!known.has(key)) {
      fail(`${where}${key} is not an option (known: ${[...known].join(', ')})`);
    }
  }
}

function duration(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    fail(`${name} must be a whole number of milliseconds ≥ 0, got ${show(v)}`);
  }
  return v;
}

function names(name: string, v: unknown, allowEmpty: boolean): string[] {
  if (!Array.isArray(v)) fail(`${name} must be a list of receiver (sink) names, got ${show(v)}`);
  if (!allowEmpty && v.length === 0) fail(`${name} must name at least one receiver`);
  const seen = new Set<string>();
  v.forEach((n: unknown, i) => {
    if (typeof n !== 'string' || n.trim() === '') {
      fail(`${name}[${i}] must be a non-empty receiver name, got ${show(n)}`);
    }
    // A receiver named twice in one list would be sent, and rate-limited, twice per group.
    if (seen.has(n)) fail(`${name}[${i}] names ${show(n)} a second time`);
    seen.add(n);
  });
  return [...(v as string[])];
}

function subset<T extends string>(name: string, v: unknown, allowed: readonly T[]): T[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) fail(`${name} must be a list, got ${show(v)}`);
  // An empty list would silently match nothing; leaving the key out is how to match everything.
  if (v.length === 0) fail(`${name} must not be empty (leave it out to match every value)`);
  v.forEach((x: unknown, i) => {
    if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) {
      fail(`${name}[${i}] must be one of ${allowed.join(', ')}, got ${show(x)}`);
    }
  });
  return [...new Set(v as T[])];
}

/**
 * Whether a resolved route takes an anomaly of this type and severity.
 *
 * @example
 * ```ts
 * routeMatches({ match: { types: ['shrinkage'] }, receivers: ['x'], continue: false }, 'shrinkage', 'info'); // true
 * ```
 */
export function routeMatches(
  route: ResolvedAlertRouterOptions['routes'][number],
  type: AnomalyType,
  severity: Severity,
): boolean {
  const { types, severities } = route.match;
  return (
    (types === undefined || types.includes(type)) &&
    (severities === undefined || severities.includes(severity))
  );
}

/**
 * Checks options and applies the defaults; throws an {@link AlertRouterConfigError} naming the option.
 *
 * @example
 * ```ts
 * resolveAlertRouterOptions({ defaultReceivers: ['console'], maxPerHour: 0 });
 * // AlertRouterConfigError: maxPerHour must be a whole number from 1 to 100000, got 0
 * ```
 */
export function resolveAlertRouterOptions(options: unknown): ResolvedAlertRouterOptions {
  if (!isRecord(options)) fail(`alert router options must be an object, got ${show(options)}`);
  rejectUnknownKeys('', options, KNOWN_KEYS);
  const groupWaitMs = duration('groupWaitMs', options.groupWaitMs, DEFAULT_ALERT_ROUTER_OPTIONS.groupWaitMs);
  const repeatIntervalMs = duration(
    'repeatIntervalMs',
    options.repeatIntervalMs,
    DEFAULT_ALERT_ROUTER_OPTIONS.repeatIntervalMs,
  );
  const maxPerHour = options.maxPerHour ?? DEFAULT_ALERT_ROUTER_OPTIONS.maxPerHour;
  if (
    typeof maxPerHour !== 'number' ||
    !Number.isInteger(maxPerHour) ||
    maxPerHour < 1 ||
    maxPerHour > MAX_PER_HOUR_LIMIT
  ) {
    fail(`maxPerHour must be a whole number from 1 to ${MAX_PER_HOUR_LIMIT}, got ${show(maxPerHour)}`);
  }
  const rawRoutes = options.routes ?? [];
  if (!Array.isArray(rawRoutes)) fail(`routes must be a list of routes, got ${show(rawRoutes)}`);
  const routes = rawRoutes.map((r: unknown, i): ResolvedAlertRouterOptions['routes'][number] => {
    const where = `routes[${i}]`;
    if (!isRecord(r)) fail(`${where} must be an object with receivers, got ${show(r)}`);
    rejectUnknownKeys(`${where}.`, r, ROUTE_KEYS);
    if (r.match !== undefined && !isRecord(r.match)) {
      fail(`${where}.match must be an object with types and/or severities, got ${show(r.match)}`);
    }
    const m = (r.match ?? {}) as Record<string, unknown>;
    rejectUnknownKeys(`${where}.match.`, m, MATCH_KEYS);
    const types = subset(`${where}.match.types`, m.types, ALERT_ANOMALY_TYPES);
    const severities = subset(`${where}.match.severities`, m.severities, SEVERITY_ORDER);
    if (r.continue !== undefined && typeof r.continue !== 'boolean') {
      fail(`${where}.continue must be true or false, got ${show(r.continue)}`);
    }
    const match: { types?: AnomalyType[]; severities?: Severity[] } = {};
    if (types) match.types = types;
    if (severities) match.severities = severities;
    return {
      match,
      receivers: names(`${where}.receivers`, r.receivers, false),
      continue: r.continue === true,
    };
  });
  const defaultReceivers = names('defaultReceivers', options.defaultReceivers ?? [], true);
  if (defaultReceivers.length === 0) {
    // Without defaults an anomaly no route matches would vanish silently: refuse such a config.
    for (const type of ALERT_ANOMALY_TYPES) {
      for (const severity of SEVERITY_ORDER) {
        if (!routes.some((r) => routeMatches(r, type, severity))) {
          fail(
            `defaultReceivers must name at least one receiver: no route matches a ${severity} ${type} anomaly ` +
              '(add a route without match, or name defaultReceivers)',
          );
        }
      }
    }
  }
  return { routes, defaultReceivers, groupWaitMs, repeatIntervalMs, maxPerHour };
}
