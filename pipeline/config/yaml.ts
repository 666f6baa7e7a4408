/**
 * Reading YAML for the configuration: the file and every `SHELFWATCH_*` value are parsed here, with
 * nothing printed and no message quoting the source text (a line may be `password: …`). Problems come
 * back by line, column, kind and, when the text parsed, the key they are under.
 */
import YAML, { type ErrorCode, LineCounter } from 'yaml';
import { formatPath, type PathSegment } from './paths.js';
import { isSecretPath } from './redact.js';

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

/**
 * One YAML problem, described without any source text: position, kind and, when known, the key.
 *
 * @example
 * ```ts
 * const p: YamlProblem = { path: ['store', 'password'], line: 3, column: 13, what: 'an unknown tag (TAG_RESOLVE_FAILED)' };
 * ```
 */
export interface YamlProblem {
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
 *
 * @example
 * ```ts
 * describeYamlProblem({ path: ['password'], line: 3, column: 13, what: 'an unknown tag' }, ['store']);
 * // 'line 3, column 13 (store.password): an unknown tag'
 * ```
 */
export function describeYamlProblem(p: YamlProblem, base: readonly PathSegment[]): string {
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
 *
 * @example
 * ```ts
 * const parsed = parseYaml('store: { type: sqlite }', []);
 * if ('problems' in parsed) for (const p of parsed.problems) console.error(describeYamlProblem(p, []));
 * ```
 */
export function parseYaml(
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
