/**
 * Loads the run configuration: built-in defaults ← an optional YAML file ← `SHELFWATCH_*` environment
 * variables, validated by {@link RunConfigSchema}. Every error names the key path, the bad value (unless
 * it is a secret) and where it came from, and all errors are reported at once, so that a broken
 * deployment is fixed in one round rather than one key at a time.
 *
 * Nothing is printed while loading, and a YAML problem is reported by line, column, kind and (when the
 * text parsed) key path, never with the text of the line: that line may be `password: …`.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { formatPath, isPlainObject, type PathSegment } from './paths.js';
import { isSecretPath, looksLikeSecretAssignment, REDACTED, redactUrl, scrubCredentials } from './redact.js';
import { type RunConfig, RunConfigSchema } from './schema.js';
import { describeYamlProblem, parseYaml } from './yaml.js';

/**
 * The prefix of every configuration environment variable.
 *
 * @example
 * ```ts
 * const overrides = Object.keys(process.env).filter((name) => name.startsWith(ENV_PREFIX));
 * ```
 */
export const ENV_PREFIX = 'SHELFWATCH_';

/**
 * `SHELFWATCH_*` variables that are not configuration keys: `SHELFWATCH_CONFIG` names the file (read by
 * the CLI, not here). Any other `SHELFWATCH_*` variable must name a key, so that a typo is an error.
 *
 * @example
 * ```ts
 * const file = process.env[RESERVED_ENV_VARS[0]]; // SHELFWATCH_CONFIG
 * ```
 */
export const RESERVED_ENV_VARS: readonly string[] = ['SHELFWATCH_CONFIG'];

/**
 * One problem in the configuration.
 *
 * @example
 * ```ts
 * const issue: ConfigIssue = {
 *   origin: 'shelfwatch.yaml',
 *   path: 'source.rate',
 *   message: 'source.rate must be a number ≥ 0, got "fast"',
 * };
 * ```
 */
export interface ConfigIssue {
  /** Where the value came from: the file name, `env SHELFWATCH_…`, or `defaults`. */
  origin: string;
  /** The key path, e.g. `alerts.sinks[0].url` (empty for the whole document). */
  path: string;
  /** What is wrong, starting with the key path; never contains a secret value. */
  message: string;
}

/**
 * The configuration is invalid. The message has one line per issue, `origin: message`.
 *
 * @example
 * ```ts
 * try {
 *   loadRunConfig({ file: 'shelfwatch.yaml' });
 * } catch (err) {
 *   if (err instanceof ConfigError) for (const i of err.issues) console.error(`${i.origin}: ${i.message}`);
 * }
 * ```
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `${i.origin}: ${i.message}`);
    super(
      lines.length === 1
        ? lines[0]
        : `invalid configuration (${lines.length} problems):\n  ${lines.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/**
 * Options of {@link loadRunConfig}.
 *
 * @example
 * ```ts
 * const options: LoadRunConfigOptions = { file: 'shelfwatch.yaml', env: { SHELFWATCH_LOG__LEVEL: 'debug' } };
 * ```
 */
export interface LoadRunConfigOptions {
  /** A YAML file; without one, only defaults and environment variables apply. */
  file?: string;
  /** The environment to read `SHELFWATCH_*` overrides from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Loads and validates the run configuration.
 *
 * Environment variables override the file: `SHELFWATCH_` + the key path in upper case, `__` between
 * levels, a single `_` optional inside a camel-case name (`SHELFWATCH_BATCH__MAX_RECORDS` and
 * `SHELFWATCH_BATCH__MAXRECORDS` both set `batch.maxRecords`), list indices as numbers
 * (`SHELFWATCH_ALERTS__SINKS__0__URL`). Values are read as YAML scalars (`2000`, `true`, `"007"` stays a
 * string), or as a YAML flow list/mapping when they start with `[` or `{`; an empty value or `null`
 * removes the key so its default applies.
 *
 * YAML anchors and aliases may be used, except to copy a secret into a key that is not secret (it
 * would then be shown like that key's value); tags other than YAML's standard ones are refused.
 *
 * @throws {ConfigError} naming every bad key, its value (secrets redacted) and its origin.
 * @example
 * ```ts
 * const config = loadRunConfig({ file: 'shelfwatch.yaml' });
 * const defaults = loadRunConfig({ env: {} });
 * ```
 */
export function loadRunConfig(options: LoadRunConfigOptions = {}): RunConfig {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const origins = new Map<string, string>();
  let root: Record<string, unknown> = {};

  if (options.file !== undefined) {
    const fromFile = readConfigFile(options.file, issues);
    // Validating the variables alone would only add noise to "the file is broken".
    if (fromFile === undefined) throw new ConfigError(issues);
    root = fromFile;
    recordOrigins(root, [], options.file, origins);
  }

  const overrides = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !RESERVED_ENV_VARS.includes(name))
    .map((name) => ({ name, segments: name.slice(ENV_PREFIX.length).split('__') }))
    // A parent before its children (SHELFWATCH_SOURCE={...} must not wipe out SHELFWATCH_SOURCE__RATE),
    // and list items in index order (item 0 exists before item 1 is set).
    .sort((a, b) => compareSegments(a.segments, b.segments));
  for (const { name, segments } of overrides) {
    applyEnvOverride(root, name, segments, env[name] ?? '', origins, issues);
  }

  fillDefaultVariants(root);
  const result = RunConfigSchema.safeParse(root);
  if (!result.success) {
    for (const issue of result.error.issues) issues.push(...describeIssue(issue, root, origins));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  if (!result.success) throw new Error('unreachable: a failed parse always has issues');
  return result.data;
}

// ---- the file ------------------------------------------------------------------------------------

function readConfigFile(file: string, issues: ConfigIssue[]): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    issues.push({ origin: file, path: '', message: `cannot read the configuration file (${code})` });
    return undefined;
  }
  const parsed = parseYaml(text, []);
  if ('problems' in parsed) {
    for (const p of parsed.problems) {
      issues.push({
        origin: file,
        path: formatPath(p.path),
        message: `is not valid YAML: ${describeYamlProblem(p, [])}`,
      });
    }
    return undefined;
  }
  const doc = parsed.value;
  if (doc === null || doc === undefined) return {}; // an empty file (or only comments): all defaults
  if (!isPlainObject(doc)) {
    issues.push({
      origin: file,
      path: '',
      message: `the top level must be a mapping of keys, got ${describeValue(doc, [])}`,
    });
    return undefined;
  }
  return doc;
}

function recordOrigins(value: unknown, path: PathSegment[], origin: string, origins: Map<string, string>) {
  origins.set(formatPath(path), origin);
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      recordOrigins(v, [...path, i], origin, origins);
    });
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) recordOrigins(v, [...path, k], origin, origins);
  }
}

// ---- environment overrides -----------------------------------------------------------------------

function compareSegments(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const numeric = /^[0-9]+$/.test(a[i]) && /^[0-9]+$/.test(b[i]);
    return numeric ? Number(a[i]) - Number(b[i]) : a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/** YAML 1.2 core-schema scalars that are not strings: anything else is taken verbatim as a string. */
const CORE_SCALAR =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;

function applyEnvOverride(
  root: Record<string, unknown>,
  name: string,
  rawSegments: string[],
  raw: string,
  origins: Map<string, string>,
  issues: ConfigIssue[],
): void {
  const origin = `env ${name}`;
  const resolved = resolveEnvPath(rawSegments);
  if ('error' in resolved) {
    issues.push({ origin, path: formatPath(resolved.at), message: resolved.error });
    return;
  }
  const path = resolved.path;
  const shown = formatPath(path);

  // Only flow collections, quoted strings and core scalars go through YAML: a URL or a password with a
  // `#` in it would otherwise lose its tail to a YAML comment.
  let value: unknown = raw;
  const trimmed = raw.trim();
  if (trimmed === '') value = undefined;
  else if (/^[[{"']/.test(trimmed) || CORE_SCALAR.test(trimmed)) {
    const parsed = parseYaml(trimmed, path);
    if ('problems' in parsed) {
      // The problem texts never quote the value, so a secret's variable gets the same help as any other.
      for (const p of parsed.problems) {
        issues.push({
          origin,
          path: formatPath([...path, ...p.path]),
          message: `${shown} could not be read as a YAML value: ${describeYamlProblem(p, path)}`,
        });
      }
      return;
    }
    value = parsed.value;
  }
  if (value === null) value = undefined;

  // Walk to the parent, creating mappings and lists the file did not have.
  let container: Record<string, unknown> | unknown[] = root;
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i];
    const next = path[i + 1];
    const existing: unknown = Array.isArray(container)
      ? container[segment as number]
      : (container as Record<string, unknown>)[segment as string];
    if (existing === undefined) {
      const created: Record<string, unknown> | unknown[] = typeof next === 'number' ? [] : {};
      if (!setChild(container, segment, created, path.slice(0, i + 1), origin, issues)) return;
      origins.set(formatPath(path.slice(0, i + 1)), origin);
      container = created;
    } else if (typeof next === 'number' ? Array.isArray(existing) : isPlainObject(existing)) {
      container = existing as Record<string, unknown> | unknown[];
    } else {
      const at = formatPath(path.slice(0, i + 1));
      const from = originOf(path.slice(0, i + 1), origins);
      issues.push({
        origin,
        path: shown,
        message: `cannot set ${shown}: ${at} (from ${from}) is ${describeValue(existing, path.slice(0, i + 1))}, not a ${typeof next === 'number' ? 'list' : 'mapping'}`,
      });
      return;
    }
  }
  const last = path[path.length - 1];
  if (value === undefined) {
    if (Array.isArray(container)) container.splice(last as number, 1);
    else delete container[last as string];
  } else if (!setChild(container, last, value, path, origin, issues)) {
    return;
  }
  // The override replaces the whole subtree: forget where the replaced values came from.
  for (const key of [...origins.keys()]) {
    if (key === shown || key.startsWith(`${shown}.`) || key.startsWith(`${shown}[`)) origins.delete(key);
  }
  origins.set(shown, origin);
}

function setChild(
  container: Record<string, unknown> | unknown[],
  segment: PathSegment,
  value: unknown,
  path: PathSegment[],
  origin: string,
  issues: ConfigIssue[],
): boolean {
  if (Array.isArray(container)) {
    const index = segment as number;
    if (index > container.length) {
      issues.push({
        origin,
        path: formatPath(path),
        message: `${formatPath(path)}: list index ${index} skips index ${container.length} (the list has ${container.length} items)`,
      });
      return false;
    }
    container[index] = value;
  } else {
    container[segment as string] = value;
  }
  return true;
}

/** Normalises a key for matching an environment segment: case and underscores do not matter. */
function envKey(key: string): string {
  return key.replace(/[_-]/g, '').toUpperCase();
}

/**
 * Maps the upper-case segments of a variable name onto real key names by walking the schema, so that
 * `SOURCE__ANOMALY_RATE` becomes `source.anomalyRate`; a segment that names no key is an error.
 */
function resolveEnvPath(segments: string[]): { path: PathSegment[] } | { error: string; at: PathSegment[] } {
  let candidates: z.ZodType[] = [RunConfigSchema];
  const path: PathSegment[] = [];
  for (const segment of segments) {
    if (segment === '') {
      return { error: 'has an empty key between "__" separators', at: path };
    }
    const nodes = candidates.flatMap((c) => expand(c));
    const next: z.ZodType[] = [];
    let resolved: PathSegment | undefined;
    const known: string[] = [];
    for (const node of nodes) {
      if (node instanceof z.ZodObject) {
        for (const [key, child] of Object.entries(node.shape as Record<string, z.ZodType>)) {
          known.push(key);
          if (envKey(key) === envKey(segment)) {
            resolved = key;
            next.push(child);
          }
        }
      } else if (node instanceof z.ZodArray && /^(0|[1-9][0-9]*)$/.test(segment)) {
        resolved = Number(segment);
        next.push(node.element as z.ZodType);
      } else if (node instanceof z.ZodRecord) {
        // Record keys (header names) cannot be upper-case-mapped back: `X_API_KEY` becomes `x-api-key`.
        resolved = segment.toLowerCase().replace(/_/g, '-');
        next.push(node.valueType as z.ZodType);
      }
    }
    if (resolved === undefined) {
      const unknownPath = [...path, segment.toLowerCase()];
      const hint = suggest(segment, [...new Set(known)], envKey);
      const listHint = nodes.some((n) => n instanceof z.ZodArray) ? ' (a list index must be a number)' : '';
      return {
        error: `unknown key ${formatPath(unknownPath)}${hint ? ` (did you mean ${formatPath([...path, hint])}?)` : listHint}`,
        at: unknownPath,
      };
    }
    path.push(resolved);
    candidates = next;
  }
  if (path.length === 0) return { error: 'names no key', at: [] };
  return { path };
}

/** Unwraps optional/default/pipe wrappers and spreads unions into their options. */
function expand(schema: z.ZodType): z.ZodType[] {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
    return expand(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return expand(schema.def.innerType as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return expand(schema.def.in as z.ZodType);
  if (schema instanceof z.ZodUnion) return (schema.options as readonly z.ZodType[]).flatMap((o) => expand(o));
  return [schema];
}

/** The schema nodes that describe the value at `path`, choosing union options by the data's discriminator. */
function schemaAt(path: readonly PathSegment[], root: unknown): z.ZodType[] {
  let candidates: z.ZodType[] = [RunConfigSchema];
  let data: unknown = root;
  for (const segment of path) {
    const nodes = candidates.flatMap((c) => pickOptions(c, data));
    const next: z.ZodType[] = [];
    for (const node of nodes) {
      if (node instanceof z.ZodObject && typeof segment === 'string') {
        const child = (node.shape as Record<string, z.ZodType>)[segment];
        if (child) next.push(child);
      } else if (node instanceof z.ZodArray && typeof segment === 'number') {
        next.push(node.element as z.ZodType);
      } else if (node instanceof z.ZodRecord) {
        next.push(node.valueType as z.ZodType);
      }
    }
    candidates = next;
    data =
      isPlainObject(data) || Array.isArray(data)
        ? (data as Record<PathSegment, unknown>)[segment]
        : undefined;
  }
  return candidates.flatMap((c) => pickOptions(c, data));
}

function pickOptions(schema: z.ZodType, data: unknown): z.ZodType[] {
  const options = expand(schema);
  if (options.length <= 1 || !isPlainObject(data)) return options;
  const chosen = options.filter(
    (o) =>
      o instanceof z.ZodObject &&
      Object.entries(o.shape as Record<string, z.ZodType>).some(
        ([key, s]) => s instanceof z.ZodLiteral && key in data && s.values.has(data[key] as string),
      ),
  );
  return chosen.length > 0 ? chosen : options;
}

/**
 * A section given without its `type` takes the default variant's type when every key it has belongs to
 * that variant, so that `SHELFWATCH_STORE__PATH=x.db` or `SHELFWATCH_SOURCE__RATE=0` alone adjusts the
 * default store or source instead of failing with "type is required".
 */
function fillDefaultVariants(root: Record<string, unknown>): void {
  for (const [key, schema] of Object.entries(RunConfigSchema.shape as Record<string, z.ZodType>)) {
    const section = root[key];
    if (!isPlainObject(section)) continue;
    const unions = [schema];
    while (unions.length > 0) {
      const s = unions.pop();
      if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) unions.push(s.def.innerType as z.ZodType);
      else if (s instanceof z.ZodDiscriminatedUnion) {
        const discriminator = s.def.discriminator;
        if (discriminator in section) break;
        const defaults: unknown = schema.safeParse(undefined).data;
        if (!isPlainObject(defaults)) break;
        const variant = pickOptions(schema, defaults)[0];
        if (!(variant instanceof z.ZodObject)) break;
        const keys = Object.keys(variant.shape as Record<string, unknown>);
        if (Object.keys(section).every((k) => keys.includes(k))) {
          section[discriminator] = defaults[discriminator];
        }
      }
    }
  }
}

// ---- turning zod issues into messages ------------------------------------------------------------

function describeIssue(issue: z.core.$ZodIssue, root: unknown, origins: Map<string, string>): ConfigIssue[] {
  const path = issue.path.filter((p): p is PathSegment => typeof p !== 'symbol');
  const shown = formatPath(path);
  const value = valueAt(root, path);
  const origin = originOf(path, origins);

  if (issue.code === 'unrecognized_keys') {
    const known = schemaAt(path, root).flatMap((n) =>
      n instanceof z.ZodObject ? Object.keys(n.shape as Record<string, unknown>) : [],
    );
    return issue.keys.map((key) => {
      const keyPath = [...path, key];
      const origin = originOf(keyPath, origins);
      if (looksLikeSecretAssignment(key)) {
        // `{password hunter2}` is one key to YAML: the "key" holds the secret.
        const shownPath = formatPath([...path, REDACTED]);
        return {
          origin,
          path: shownPath,
          message: `unknown key ${shownPath}: it looks like a secret key and its value; is the ":" after the key name missing?`,
        };
      }
      const hint = suggest(key, known, (k) => k.toLowerCase());
      const others = known.length > 0 ? ` (known keys: ${known.join(', ')})` : '';
      return {
        origin,
        path: formatPath(keyPath),
        message: `unknown key ${formatPath(keyPath)}${hint ? ` (did you mean ${formatPath([...path, hint])}?)` : others}`,
      };
    });
  }
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined && 'options' in issue) {
    const options = (issue.options ?? []).map((o) => JSON.stringify(o)).join(', ');
    return [
      {
        origin,
        path: shown,
        message:
          value === undefined
            ? `${shown} is required: one of ${options}`
            : `${shown} must be one of ${options}, got ${describeValue(value, path)}`,
      },
    ];
  }
  if (issue.code === 'invalid_type' && value === undefined) {
    const what = issue.message.startsWith('must be ') ? ` (${issue.message.slice('must be '.length)})` : '';
    // A key is missing because of the variant chosen: blame whoever set `type`, when it was set.
    const typeOrigin = origins.get(formatPath([...path.slice(0, -1), 'type']));
    return [{ origin: typeOrigin ?? origin, path: shown, message: `${shown} is required${what}` }];
  }
  if (issue.code === 'custom') {
    return [{ origin, path: shown, message: `${shown} ${issue.message}` }];
  }
  let phrase = issue.message;
  if (!phrase.startsWith('must ')) {
    phrase =
      issue.code === 'invalid_type'
        ? `must be ${issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}`
        : phrase.charAt(0).toLowerCase() + phrase.slice(1);
  }
  const subject = shown === '' ? 'the configuration' : shown;
  return [{ origin, path: shown, message: `${subject} ${phrase}, got ${describeValue(value, path)}` }];
}

/** Where the value at `path` came from: the nearest enclosing key with a recorded origin. */
function originOf(path: readonly PathSegment[], origins: Map<string, string>): string {
  for (let n = path.length; n >= 0; n--) {
    const origin = origins.get(formatPath(path.slice(0, n)));
    if (origin !== undefined) return origin;
  }
  return 'defaults';
}

function valueAt(root: unknown, path: readonly PathSegment[]): unknown {
  let value: unknown = root;
  for (const segment of path) {
    if (!(isPlainObject(value) || Array.isArray(value))) return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

/** A value for an error message: secrets never, containers by kind (they may hold secrets), text short. */
function describeValue(value: unknown, path: readonly PathSegment[]): string {
  if (value === undefined) return 'nothing';
  if (isSecretPath(path)) return REDACTED;
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (isPlainObject(value)) return 'a mapping';
  if (typeof value === 'string') {
    // A URL in the wrong key may still be a webhook whose path is its credential: show only its host.
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
    // `store:\n  password hunter2` (no ":") makes the whole line the value of `store`.
    if (!url && looksLikeSecretAssignment(value)) {
      return `${REDACTED} (a secret key and its value? is a ":" missing?)`;
    }
    const scrubbed = url ? redactUrl(value) : scrubCredentials(value);
    return JSON.stringify(scrubbed.length > 60 ? `${scrubbed.slice(0, 57)}...` : scrubbed);
  }
  return String(value);
}

// ---- "did you mean" ------------------------------------------------------------------------------

/** The closest known key, when it is close enough to be a likely typo. */
function suggest(
  given: string,
  known: readonly string[],
  normalise: (k: string) => string,
): string | undefined {
  const g = normalise(given);
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(g, normalise(key));
    if (best === undefined || distance < best.distance) best = { key, distance };
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(g.length, best.key.length) / 3));
  return best.distance <= limit ? best.key : undefined;
}

/** Edit distance counting a swap of neighbours as one edit (`rtae` → `rate`), the commonest typo. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
