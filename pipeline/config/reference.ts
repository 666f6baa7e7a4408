/**
 * The configuration reference (docs/configuration.md), generated from {@link RunConfigSchema} so that
 * it cannot drift from what the loader accepts: every key with its type and range, default, the
 * environment variable that sets it, whether it is a secret, and its description (zod metadata,
 * `.meta({ description })`, attached where the key is defined).
 *
 * It walks zod's schema objects: a strict object's `shape`, unions' options (variants chosen by
 * `type`), arrays' elements, and the wrappers (`optional`, `default`, `prefault`, a `transform`'s input)
 * around each. What it cannot see is said in the description instead: refinements across keys
 * (`initialTimestamp` with `AT_TIMESTAMP`) and values computed by transforms (a sink's `name`).
 */
import { z } from 'zod';
import { ENV_PREFIX } from './load.js';
import { secretKind } from './redact.js';
import { RunConfigSchema } from './schema.js';

/**
 * One step of a key path: a key, a list item (`[]`) or an entry of a mapping of names (`{}`).
 *
 * @example
 * ```ts
 * const path: KeyStep[] = ['alerts', 'sinks', '[]', 'headers', '{}'];
 * ```
 */
export type KeyStep = string;

/** The item of a list, in a key path. */
const ITEM: KeyStep = '[]';
/** An entry of a mapping of names (request headers), in a key path. */
const ENTRY: KeyStep = '{}';

/**
 * One documented key.
 *
 * @example
 * ```ts
 * const key: ConfigKey = {
 *   key: 'source.type=generator: rate', path: ['source', 'rate'], value: 'number ≥ 0', default: '`2000`',
 *   env: 'SHELFWATCH_SOURCE__RATE', secret: 'none', description: 'Records per second …',
 * };
 * ```
 */
export interface ConfigKey {
  /** The key as the reference shows it: `alerts.sinks[].type=slack: webhookUrl`. */
  key: string;
  /** Its path, variants left out (they share keys' places): what the environment variable follows. */
  path: readonly KeyStep[];
  /** Type and allowed values: `integer 0–65535`, ``one of `info`, `debug` ``, `a file path`. */
  value: string;
  /** The default as Markdown: a value in backticks, `**required**`, or `—` (unset). */
  default: string;
  /** The environment variable that sets it, `<n>` standing for a list index. */
  env: string;
  /** How logs and error messages hide its value (see `secretKind` in redact.ts). */
  secret: 'whole' | 'host' | 'none';
  /** From the schema's metadata; undefined when the key has none (a test requires one). */
  description: string | undefined;
}

/**
 * A part of the reference: a top-level key, a union's variants, or one variant.
 *
 * @example
 * ```ts
 * const section: ConfigSection = { title: 'batch', depth: 2, description: 'How records are grouped', keys: [], sections: [] };
 * ```
 */
export interface ConfigSection {
  /** `source`, `alerts.sinks[]`, `store.type=mysql`. */
  title: string;
  /** Markdown heading level. */
  depth: number;
  /** Undefined when the schema has none (a test requires one). */
  description: string | undefined;
  /** Markdown: the section's own default, when it has one worth showing. */
  default?: string;
  keys: ConfigKey[];
  sections: ConfigSection[];
}

/** How a key's place in a variant is shown: `store.type=mysql: ` before its own path. */
interface Place {
  /** Key path so far. */
  path: KeyStep[];
  /** `store.type=mysql: ` inside a variant, else empty. */
  variant: string;
  /** The path shown after `variant`: `ssl.` inside a variant, `alerts.routes[].` outside. */
  shown: string;
}

// ---- reading zod schemas -------------------------------------------------------------------------

/** The schema inside `optional`, `nullable`, `default`, `prefault` and a transform's input. */
function unwrap(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable) {
    return unwrap(schema.unwrap() as z.ZodType);
  }
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault) {
    return unwrap(schema.def.innerType as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return unwrap(schema.def.in as z.ZodType);
  return schema;
}

/** Every schema from `schema` inwards through its wrappers, outermost first. */
function layers(schema: z.ZodType): z.ZodType[] {
  const inner = unwrap(schema);
  const out: z.ZodType[] = [schema];
  let s = schema;
  while (s !== inner) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault) s = s.def.innerType as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.def.in as z.ZodType;
    else break;
    out.push(s);
  }
  return out;
}

/** The description nearest the key: `.meta` may sit on the default or on the value inside it. */
function descriptionOf(schema: z.ZodType): string | undefined {
  for (const layer of layers(schema)) {
    if (layer.description !== undefined && layer.description.trim() !== '') return layer.description;
  }
  return undefined;
}

/** The outermost default (or prefault) value, `optional` when the key may be left out, else `required`. */
function defaultOf(schema: z.ZodType): { value: unknown } | 'optional' | 'required' {
  for (const layer of layers(schema)) {
    if (layer instanceof z.ZodDefault || layer instanceof z.ZodPrefault) {
      return { value: layer.def.defaultValue };
    }
    if (layer instanceof z.ZodOptional) return 'optional';
  }
  return 'required';
}

/**
 * A leaf's own "must be …" message without "must be": what errors tell the reader it accepts.
 * zod keeps `{ error: '…' }` as a function of the issue; ours ignore the issue, so a stand-in issue
 * will do, and the cast to a plain function is the narrowest that avoids building a real one.
 */
function acceptedPhrase(schema: z.ZodType): string | undefined {
  const error = schema.def.error as ((issue: unknown) => unknown) | undefined;
  if (error === undefined) return undefined;
  const result = error({ code: 'invalid_type', input: undefined, path: [] });
  const message =
    typeof result === 'string'
      ? result
      : typeof result === 'object' && result !== null && 'message' in result
        ? String(result.message)
        : undefined;
  return message?.startsWith('must be ') ? message.slice('must be '.length) : undefined;
}

function code(value: string): string {
  return `\`${value}\``;
}

/** A bound is shown only when it says something: ±MAX_SAFE_INTEGER and MAX_VALUE mean "none". */
function bounded(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n) && Math.abs(n) < Number.MAX_SAFE_INTEGER;
}

/** Type and allowed values of a key, read from the schema's structure. */
function describeValue(schema: z.ZodType): string {
  const s = unwrap(schema);
  if (s instanceof z.ZodNumber) {
    const kind = s.isInt ? 'integer' : 'number';
    const [min, max] = [s.minValue, s.maxValue];
    if (bounded(min) && bounded(max)) return `${kind} ${min}–${max}`;
    if (bounded(min)) return `${kind} ≥ ${min}`;
    if (bounded(max)) return `${kind} ≤ ${max}`;
    return kind;
  }
  if (s instanceof z.ZodBoolean) return '`true` or `false`';
  if (s instanceof z.ZodEnum) return `one of ${s.options.map((o) => code(String(o))).join(', ')}`;
  if (s instanceof z.ZodLiteral) return [...s.values].map((v) => code(String(v))).join(', ');
  if (s instanceof z.ZodArray) {
    const list = acceptedPhrase(s) ?? 'a list';
    const element = unwrap(s.element as z.ZodType);
    return element instanceof z.ZodEnum ? `${list}, each ${describeValue(element)}` : list;
  }
  if (s instanceof z.ZodRecord) {
    return `a mapping of names, each to ${describeValue(s.valueType as z.ZodType)}`;
  }
  if (s instanceof z.ZodDiscriminatedUnion) return `a mapping with a ${code(s.def.discriminator)}`;
  if (s instanceof z.ZodUnion) {
    // `true`, `false`, `rds` or …: a boolean option reads as its two values in the list.
    const options = (s.options as readonly z.ZodType[]).flatMap((o) =>
      unwrap(o) instanceof z.ZodBoolean ? ['`true`', '`false`'] : [describeValue(o)],
    );
    return `${options.slice(0, -1).join(', ')} or ${options[options.length - 1]}`;
  }
  if (s instanceof z.ZodObject) {
    return `a mapping \`{ ${Object.keys(s.shape as Record<string, unknown>).join(', ')} }\``;
  }
  return acceptedPhrase(s) ?? 'a string';
}

function describeDefault(schema: z.ZodType): string {
  const d = defaultOf(schema);
  if (d === 'required') return '**required**';
  if (d === 'optional') return '—';
  return code(typeof d.value === 'string' ? d.value : JSON.stringify(d.value));
}

/** `maxRecords` → `MAX_RECORDS`: one of the spellings the loader accepts, the most readable. */
function envSegment(step: KeyStep): string {
  if (step === ITEM) return '<n>';
  if (step === ENTRY) return '<NAME>';
  return step.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function envName(path: readonly KeyStep[]): string {
  return `${ENV_PREFIX}${path.map(envSegment).join('__')}`;
}

/** The path as redact.ts sees it: a list index and a header name stand in for `[]` and `{}`. */
function secretOf(path: readonly KeyStep[], schema: z.ZodType): ConfigKey['secret'] {
  const concrete = path.map((step) => (step === ITEM ? 0 : step === ENTRY ? 'name' : step));
  // A mapping of names is as secret as its entries (request headers: every value).
  return unwrap(schema) instanceof z.ZodRecord ? secretKind([...concrete, 'name']) : secretKind(concrete);
}

// ---- walking the schema --------------------------------------------------------------------------

/** The union inside a key (alone or as the element of a list), if it is one chosen by a discriminator. */
function variantsOf(schema: z.ZodType): { union: z.ZodDiscriminatedUnion; list: boolean } | undefined {
  const s = unwrap(schema);
  if (s instanceof z.ZodDiscriminatedUnion) return { union: s, list: false };
  if (s instanceof z.ZodArray) {
    const element = unwrap(s.element as z.ZodType);
    if (element instanceof z.ZodDiscriminatedUnion) return { union: element, list: true };
  }
  return undefined;
}

/** The objects whose keys are documented under a key: an object, a list of objects, a union's objects. */
function nestedObjects(schema: z.ZodType): { objects: z.ZodObject[]; list: boolean } {
  let s = unwrap(schema);
  const list = s instanceof z.ZodArray;
  if (s instanceof z.ZodArray) s = unwrap(s.element as z.ZodType);
  if (s instanceof z.ZodObject) return { objects: [s], list };
  if (s instanceof z.ZodUnion && !(s instanceof z.ZodDiscriminatedUnion)) {
    const options = (s.options as readonly z.ZodType[]).map(unwrap);
    return { objects: options.filter((o): o is z.ZodObject => o instanceof z.ZodObject), list };
  }
  return { objects: [], list };
}

function keyRow(place: Place, key: string, schema: z.ZodType): ConfigKey {
  const path = [...place.path, key];
  // A mapping of names (headers) is set an entry at a time: `…__HEADERS__AUTHORIZATION`.
  const envPath = unwrap(schema) instanceof z.ZodRecord ? [...path, ENTRY] : path;
  return {
    key: `${place.variant}${place.shown}${key}`,
    path,
    value: describeValue(schema),
    default: describeDefault(schema),
    env: envName(envPath),
    secret: secretOf(path, schema),
    description: descriptionOf(schema),
  };
}

/**
 * The keys of an object (into `keys`, nested objects inline) and its unions' variants (into
 * `sections`). `skip` is the discriminator of the variant the object is: its row is the union's.
 */
function walkObject(
  object: z.ZodObject,
  place: Place,
  depth: number,
  out: { keys: ConfigKey[]; sections: ConfigSection[] },
  skip?: string,
): void {
  for (const [key, child] of Object.entries(object.shape as Record<string, z.ZodType>)) {
    if (key === skip) continue;
    out.keys.push(keyRow(place, key, child));
    const variants = variantsOf(child);
    if (variants !== undefined) {
      const at: Place = {
        path: variants.list ? [...place.path, key, ITEM] : [...place.path, key],
        variant: place.variant,
        shown: `${place.shown}${key}${variants.list ? '[]' : ''}.`,
      };
      out.sections.push(unionSection(variants.union, at, depth + 1, child));
      continue;
    }
    const nested = nestedObjects(child);
    for (const inner of nested.objects) {
      const path = nested.list ? [...place.path, key, ITEM] : [...place.path, key];
      const shown = `${place.shown}${key}${nested.list ? '[]' : ''}.`;
      walkObject(inner, { path, variant: place.variant, shown }, depth, out);
    }
  }
}

/** A union's `type` row and one section per variant. */
function unionSection(
  union: z.ZodDiscriminatedUnion,
  place: Place,
  depth: number,
  owner: z.ZodType,
): ConfigSection {
  const discriminator = union.def.discriminator;
  const title = `${place.variant}${place.shown}`.replace(/\.$/, '');
  const variants = (union.options as readonly z.ZodType[])
    .map(unwrap)
    .filter((o) => o instanceof z.ZodObject);
  const names = variants.map((v) => {
    const literal = unwrap((v.shape as Record<string, z.ZodType>)[discriminator]);
    return literal instanceof z.ZodLiteral ? String([...literal.values][0]) : '?';
  });
  const ownerDefault = defaultOf(owner);
  const chosen =
    typeof ownerDefault === 'object' &&
    typeof ownerDefault.value === 'object' &&
    ownerDefault.value !== null &&
    !Array.isArray(ownerDefault.value)
      ? (ownerDefault.value as Record<string, unknown>)[discriminator]
      : undefined;
  const path = [...place.path, discriminator];
  const typeRow: ConfigKey = {
    key: `${title}.${discriminator}`,
    path,
    value: `one of ${names.map(code).join(', ')}`,
    default: typeof chosen === 'string' ? code(chosen) : '**required**',
    env: envName(path),
    secret: 'none',
    description:
      typeof chosen === 'string'
        ? `Which kind; each kind's keys follow. Left out, it is ${code(chosen)} when every key given is one of ${code(chosen)}'s.`
        : "Which kind; each kind's keys follow.",
  };
  const section: ConfigSection = {
    title,
    depth,
    description: descriptionOf(owner),
    keys: [typeRow],
    sections: [],
  };
  variants.forEach((variant, i) => {
    const at: Place = { path: place.path, variant: `${title}.${discriminator}=${names[i]}: `, shown: '' };
    const inner: ConfigSection = {
      title: `${title}.${discriminator}=${names[i]}`,
      depth: depth + 1,
      description: descriptionOf(variant),
      keys: [],
      sections: [],
    };
    walkObject(variant, at, depth + 1, inner, discriminator);
    section.sections.push(inner);
  });
  return section;
}

/**
 * The reference as data: one section per top-level key, in the schema's order.
 *
 * @example
 * ```ts
 * const sections = configReference();
 * sections.map((s) => s.title); // ['source', 'batch', 'store', …]
 * ```
 */
export function configReference(schema: z.ZodObject = RunConfigSchema): ConfigSection[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([key, child]) => {
    const d = defaultOf(child);
    const shownDefault =
      typeof d === 'object' &&
      !(typeof d.value === 'object' && d.value !== null && Object.keys(d.value).length === 0)
        ? code(JSON.stringify(d.value))
        : undefined;
    const section: ConfigSection = {
      title: key,
      depth: 2,
      description: descriptionOf(child),
      ...(shownDefault === undefined ? {} : { default: shownDefault }),
      keys: [],
      sections: [],
    };
    const variants = variantsOf(child);
    if (variants !== undefined) {
      const place: Place = {
        path: variants.list ? [key, ITEM] : [key],
        variant: '',
        shown: `${key}${variants.list ? '[]' : ''}.`,
      };
      const union = unionSection(variants.union, place, 2, child);
      section.keys = union.keys;
      section.sections = union.sections;
    } else {
      for (const object of nestedObjects(child).objects) {
        walkObject(object, { path: [key], variant: '', shown: `${key}.` }, 2, section);
      }
    }
    return section;
  });
}

/**
 * Every documented key, sections flattened, in document order.
 *
 * @example
 * ```ts
 * const undocumented = configKeys().filter((k) => k.description === undefined);
 * ```
 */
export function configKeys(sections: readonly ConfigSection[] = configReference()): ConfigKey[] {
  return sections.flatMap((s) => [...s.keys, ...configKeys(s.sections)]);
}

// ---- Markdown ------------------------------------------------------------------------------------

const INTRO = `# Configuration reference

<!-- Generated from the configuration schema (pipeline/config/*.ts) by \`npm run docs:config\`: edit the
schema's descriptions (\`.meta({ description })\`), not this file. -->

\`shelfwatch run\` reads its configuration from built-in defaults, then a YAML file (\`--config FILE\` or
\`SHELFWATCH_CONFIG\`), then \`SHELFWATCH_*\` environment variables, each overriding the one before. Every
key is checked: a misspelt key, a value out of range or an unknown \`SHELFWATCH_*\` variable stops the job
with one line per problem, naming the key and where the value came from. Commented examples are in
[\`examples/\`](../examples/README.md).

**Environment variables.** \`SHELFWATCH_\` and the key path in upper case, \`__\` between levels; the \`_\`
between the words of a key is optional (\`SHELFWATCH_BATCH__MAX_RECORDS\` and \`SHELFWATCH_BATCH__MAXRECORDS\`
both set \`batch.maxRecords\`). List items are numbered from 0 (\`<n>\` below:
\`SHELFWATCH_ALERTS__SINKS__0__WEBHOOK_URL\`); in a header name \`_\` stands for \`-\`
(\`SHELFWATCH_ALERTS__SINKS__0__HEADERS__X_API_KEY\` sets \`x-api-key\`). Values are read as YAML scalars
(\`2000\`, \`true\`; quote \`"007"\` to keep a string), or as a YAML flow list or mapping when they start with
\`[\` or \`{\`, so a whole list or section can be set at once (\`SHELFWATCH_ALERTS__ROUTES__0__RECEIVERS=[slack, email]\`).
An empty value or \`null\` removes the key, so that its default applies.

**Variants.** \`source\`, \`store\`, \`alerts.sinks[]\` and \`metricsSinks[]\` are chosen by \`type\`;
each kind has its own keys, shown under \`…type=kind\`. A \`source\` or \`store\` given without a \`type\`
is the default kind when its keys are that kind's (\`SHELFWATCH_STORE__PATH=/tmp/s.db\` alone moves the
SQLite file).

**Secrets** are hidden from every log line and error message: *secret* keys entirely, *URL* keys down to
their scheme and host. Set secrets through their environment variable rather than in the file.`;

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function secretNote(secret: ConfigKey['secret']): string {
  if (secret === 'whole') return '**Secret.** ';
  if (secret === 'host') return '*URL: logged as scheme and host only.* ';
  return '';
}

function renderSection(section: ConfigSection, lines: string[]): void {
  lines.push('', `${'#'.repeat(section.depth)} ${section.title}`, '');
  const about = section.description ?? '';
  lines.push(section.default === undefined ? about : `${about} Default: ${section.default}.`);
  if (section.keys.length > 0) {
    lines.push('', '| key | value | default | environment variable | description |', '|---|---|---|---|---|');
    for (const k of section.keys) {
      const description = `${secretNote(k.secret)}${k.description ?? ''}`;
      lines.push(
        `| ${cell(code(k.key))} | ${cell(k.value)} | ${cell(k.default)} | ${cell(code(k.env))} | ${cell(description)} |`,
      );
    }
  } else if (section.sections.length === 0) {
    lines.push('', 'No other keys.');
  }
  for (const inner of section.sections) renderSection(inner, lines);
}

/**
 * docs/configuration.md as it should be: `npm run docs:config` writes it, and a test fails when the
 * file differs.
 *
 * @example
 * ```ts
 * writeFileSync('docs/configuration.md', renderConfigReference());
 * ```
 */
export function renderConfigReference(sections: readonly ConfigSection[] = configReference()): string {
  const lines = [INTRO, '', '| section | what it sets |', '|---|---|'];
  for (const s of sections)
    lines.push(`| [${s.title}](#${s.title.toLowerCase()}) | ${cell(s.description ?? '')} |`);
  for (const s of sections) renderSection(s, lines);
  return `${lines.join('\n')}\n`;
}
