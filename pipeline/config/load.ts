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
import YAML, { type ErrorCode, LineCounter } from 'yaml';
import { z } from 'zod';
import { isSecretPath, looksLikeSecretAssignment, REDACTED, redactUrl, scrubCredentials } from './redact.js';
import { type RunConfig, RunConfigSchema } from './schema.js';

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

type PathSegment = string | number;

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

// ---- YAML ----------------------------------------------------------------------------------------

/**
 * What each YAML error means, in our own words. The `yaml` package's messages quote the source (the
 * alias or tag name, an escape sequence, and with `prettyErrors` a code frame of the whole line), and
 * that line may be `password: …`; so no text of theirs reaches a message, only the error's code and
 * position. A `Record` over `ErrorCode` makes a code added by a newer `yaml` a type error here.
 */
const YAML_PROBLEMS: Record<ErrorCode, string> = {
  ALIAS_PROPS: 'an alias (*name) cannot have a tag or an anchor',
  BAD_ALIAS: 'an anchor or alias name is empty or ends in ":"',
  BAD_COLLECTION_TYPE: 'a tag that does not fit its value (a mapping tag on a list, or the reverse)',
  BAD_DIRECTIVE: 'an unknown or malformed "%" directive',
  BAD_DQ_ESCAPE:
    'an invalid escape sequence in a double-quoted string (for a literal backslash use single quotes)',
  BAD_INDENT: 'bad indentation (the items of a mapping or list must start in the same column)',
  BAD_PROP_ORDER: 'a tag or anchor in the wrong place',
  BAD_SCALAR_START: 'a value starting with a character YAML reserves (such as @ or `): quote the value',
  BLOCK_AS_IMPLICIT_KEY:
    'a nested mapping where a single value was expected (an unquoted ": " in a value, or a line indented too far?)',
  BLOCK_IN_FLOW: 'a block mapping or list inside a [ ] or { } collection',
  DUPLICATE_KEY: 'a key given twice in the same mapping',
  IMPOSSIBLE: 'a structure the YAML parser cannot handle',
  KEY_OVER_1024_CHARS: 'a key longer than 1024 characters',
  MISSING_CHAR: 'a missing character (an unclosed quote, bracket or brace, or a ":" after a key)',
  MULTILINE_IMPLICIT_KEY: 'a key spread over several lines (a missing ":" or an unclosed quote?)',
  MULTIPLE_ANCHORS: 'a value with more than one anchor (&name)',
  MULTIPLE_DOCS: 'a second YAML document (a "---" line after content): the configuration is one document',
  MULTIPLE_TAGS: 'a value with more than one tag',
  NON_STRING_KEY: 'a key that is a mapping, a list, an alias or a tagged value: keys must be plain names',
  RESOURCE_EXHAUSTION: 'aliases that expand to too large a value',
  TAB_AS_INDENT: 'a tab used for indentation: indent with spaces',
  TAG_RESOLVE_FAILED:
    'an unknown tag (!name), or a value its tag cannot read: only standard YAML tags are allowed',
  UNEXPECTED_TOKEN: 'unexpected text (a stray character, or a missing ":" or "-"?)',
};

/** `yaml`'s default limit on alias expansion, against a "billion laughs" file; a configuration needs few. */
const MAX_ALIAS_COUNT = 100;

/** More YAML problems than this in one source are summarised: a binary file would list hundreds. */
const MAX_YAML_PROBLEMS = 10;

/** One YAML problem, described without any source text: position, kind and, when known, the key. */
interface YamlProblem {
  /** The key whose value holds the problem, relative to the parsed text; empty when unknown. */
  path: PathSegment[];
  /** 1-based; absent for a problem of the whole text. */
  line?: number;
  column?: number;
  /** What is wrong, in our words (never the parser's), with the YAML error code. */
  what: string;
}

/**
 * `line 3, column 13 (store.password): an unknown tag …`, the key path prefixed with `base`, the path of
 * the parsed text in the configuration (an environment variable's key; nothing for the file).
 */
function describeYamlProblem(p: YamlProblem, base: readonly PathSegment[]): string {
  const where = [
    p.line === undefined ? '' : `line ${p.line}, column ${p.column}`,
    p.path.length === 0 ? '' : `(${formatPath([...base, ...p.path])})`,
  ].filter((w) => w !== '');
  return where.length === 0 ? p.what : `${where.join(' ')}: ${p.what}`;
}

/**
 * Parses one YAML document the way every configuration source is read: nothing is printed and no
 * message quotes the source. Each problem is reported by line, column, kind and the key it is under.
 * `base` is where the text goes in the configuration (an environment variable's key; nothing for the
 * file), so that an alias copying a secret is recognised by the full key path.
 */
function parseYaml(
  text: string,
  base: readonly PathSegment[],
): { value: unknown } | { problems: YamlProblem[] } {
  const lineCounter = new LineCounter();
  const doc = YAML.parseDocument(text, {
    lineCounter,
    // Warnings stay in doc.warnings instead of going to process.emitWarning, which prints them on
    // stderr with a code frame of the source line (`password: !hunter2` printed the password).
    logLevel: 'error',
    // Skips building code frames that nothing here may show.
    prettyErrors: false,
    // A mapping as a key would become a key stringified from its source text (`{ password: … }`),
    // echoed back by "unknown key"; with this it is a NON_STRING_KEY error instead.
    stringKeys: true,
  });
  const found: { offset: number; problem: YamlProblem }[] = [];
  // In a text with syntax errors, what the parser took for keys may be pieces of a value (a password
  // with ", " in an unclosed `{…}`): key paths are named only when the text parsed cleanly.
  const keysAreKeys = doc.errors.length === 0;
  const add = (offset: number, what: string) => {
    // The parser can report one missing character at one place more than once.
    if (found.some((f) => f.offset === offset && f.problem.what === what)) return;
    const { line, col } = lineCounter.linePos(offset);
    const path = keysAreKeys ? keyPathAt(doc.contents, offset, []) : [];
    found.push({ offset, problem: { path, line, column: col, what } });
  };
  // Warnings (an unknown tag or directive, an ambiguous anchor name) are errors here: the value is
  // then read differently from what was written (an unknown tag is dropped and the text kept as a
  // string), and a configuration has no use for custom tags. A warning would also need a logger that
  // the loader does not have, and it would be easy to miss before the job runs with the wrong value.
  for (const e of [...doc.errors, ...doc.warnings]) {
    const code: ErrorCode = e.code;
    add(e.pos[0], `${YAML_PROBLEMS[code] ?? 'a YAML syntax error'} (${code})`);
  }
  if (found.length === 0) {
    for (const a of aliasProblems(doc, base)) add(a.offset, a.what);
  }
  if (found.length > 0) {
    found.sort((a, b) => a.offset - b.offset);
    const problems = found.slice(0, MAX_YAML_PROBLEMS).map((f) => f.problem);
    if (found.length > MAX_YAML_PROBLEMS) {
      problems.push({ path: [], what: `and ${found.length - MAX_YAML_PROBLEMS} more YAML problems` });
    }
    return { problems };
  }
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    // Aliases are checked above, so this is the alias-count limit or something new in `yaml`: its
    // message may name an alias, so it is only matched, never shown.
    const what =
      err instanceof Error && /alias count/i.test(err.message)
        ? `aliases that expand to too large a value (more than ${MAX_ALIAS_COUNT} copies) (RESOURCE_EXHAUSTION)`
        : `the document cannot be converted to a value (${err instanceof Error ? err.name : typeof err})`;
    return { problems: [{ path: [], what }] };
  }
}

/**
 * Aliases that name no earlier anchor, or their own ancestor, or copy a secret into a key that is not
 * secret. `yaml` finds the first only when converting, throwing a message with the alias name (which
 * may be a mistyped secret); the second makes a cyclic value that recursion over the configuration
 * never finishes; the third would show the secret wherever that key's value is shown (an error message,
 * the start-up log), since secrets are recognised by key name. `base` is the key path of the text.
 */
function aliasProblems(
  doc: YAML.Document.Parsed,
  base: readonly PathSegment[],
): { offset: number; what: string }[] {
  const problems: { offset: number; what: string }[] = [];
  // `yaml` resolves an alias to the last anchor of that name before it, in this same visiting order.
  const anchors = new Map<string, Anchored>();
  YAML.visit(doc, {
    Node(key, node, ancestors) {
      if (key === 'key') return; // keys are plain strings (stringKeys): no anchors or aliases
      const path = [...base, ...relativeKeyPath(ancestors, node)];
      if (YAML.isAlias(node)) {
        const target = anchors.get(node.source);
        const offset = node.range?.[0] ?? 0;
        if (target === undefined) {
          problems.push({ offset, what: 'an alias (*name) with no anchor (&name) of that name before it' });
        } else if (ancestors.includes(target.node)) {
          problems.push({ offset, what: 'an alias (*name) inside the value its anchor marks (a cycle)' });
        } else {
          const from = copiedSecret(target, path, anchors, 0);
          if (from !== undefined) {
            problems.push({
              offset,
              what: `an alias (*name) copying the secret at ${shownKeyPath(from)} into a key that is not secret, where it would be shown: write the value out, or set it from an environment variable`,
            });
          }
        }
      } else if (node.anchor !== undefined) {
        anchors.set(node.anchor, { node, path });
      }
    },
  });
  return problems;
}

/** A node with an anchor, and the key path where it was written. */
interface Anchored {
  node: YAML.Node;
  path: PathSegment[];
}

/**
 * The first key path under `anchored` that is secret where the anchor was written but not at `to`,
 * where an alias copies it; aliases inside the copied value are followed (a few levels: cycles are
 * reported on their own).
 */
function copiedSecret(
  anchored: Anchored,
  to: readonly PathSegment[],
  anchors: ReadonlyMap<string, Anchored>,
  depth: number,
): PathSegment[] | undefined {
  if (depth > 8) return undefined;
  let found: PathSegment[] | undefined;
  const check = (key: unknown, node: unknown, ancestors: readonly unknown[]) => {
    if (key === 'key') return undefined;
    const relative = relativeKeyPath(ancestors, node);
    const from = [...anchored.path, ...relative];
    if (isSecretPath(from) && !isSecretPath([...to, ...relative])) {
      found = from;
      return YAML.visit.BREAK;
    }
    if (YAML.isAlias(node)) {
      const inner = anchors.get(node.source);
      found = inner && copiedSecret(inner, [...to, ...relative], anchors, depth + 1);
      if (found !== undefined) return YAML.visit.BREAK;
    }
    return undefined;
  };
  YAML.visit(anchored.node, { Node: check }); // the anchored node itself first, with no ancestors
  return found;
}

/**
 * The key path of `node` below the first of `ancestors` (as `YAML.visit` gives them): map keys as
 * strings, list items as indices.
 */
function relativeKeyPath(ancestors: readonly unknown[], node: unknown): PathSegment[] {
  const path: PathSegment[] = [];
  ancestors.forEach((a, i) => {
    const child = i + 1 < ancestors.length ? ancestors[i + 1] : node;
    if (YAML.isSeq(a)) path.push(a.items.indexOf(child));
    else if (YAML.isPair(a) && child === a.value) {
      path.push(YAML.isScalar(a.key) ? String(a.key.value) : String(a.key));
    }
  });
  return path;
}

/** Keys shown in a YAML problem: a name, not text that may be a value typed where a key was expected. */
const SHOWN_KEY = /^[A-Za-z0-9_-]{1,64}$/;

/** `path` up to its first key that is not a name, for a message. */
function shownKeyPath(path: readonly PathSegment[]): string {
  const end = path.findIndex((p) => typeof p === 'string' && !SHOWN_KEY.test(p));
  return formatPath(end < 0 ? path : [...path.slice(0, end), '…']);
}

/**
 * The key path of the innermost value holding `offset`, for saying where a problem is. It stops at
 * the first key that does not look like a name, so it never shows source text beyond key names.
 */
function keyPathAt(node: unknown, offset: number, path: PathSegment[]): PathSegment[] {
  if (!YAML.isCollection(node) || node.range === undefined || node.range === null) return path;
  if (offset < node.range[0] || offset >= node.range[2]) return path;
  // The first child ending after the offset holds it; a tag or anchor in front of a value belongs to
  // it too, which a search by start would give to the previous child.
  const end = (n: unknown): number => (YAML.isNode(n) && n.range ? n.range[2] : -1);
  if (YAML.isSeq(node)) {
    const index = node.items.findIndex((item) => end(item) > offset);
    return index < 0 ? path : keyPathAt(node.items[index], offset, [...path, index]);
  }
  const pair = node.items.find((p) => Math.max(end(p.key), end(p.value)) > offset);
  if (pair === undefined) return path;
  const key = YAML.isScalar(pair.key) ? pair.key.value : undefined;
  if (typeof key !== 'string' || !SHOWN_KEY.test(key)) return path;
  return keyPathAt(pair.value, offset, [...path, key]);
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

/** `alerts.sinks[0].url`. */
function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`))
    .join('')
    .replace(/^\./, '');
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
