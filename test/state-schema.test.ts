/**
 * docs/state-schema.md describes the SQL tables as the migrations leave them: this migrates an empty
 * SQLite database and compares every table, column (name, order, type, nullability, default), primary
 * key and index with the page, so that a migration cannot land without its documentation.
 */
import { readFileSync } from 'node:fs';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateStoreToLatest } from '../connectors/sql/migrations.js';
import type { Database } from '../connectors/sql/schema.js';

interface ColumnDoc {
  name: string;
  sqliteType: string;
  mysqlType: string;
  notNull: boolean;
  default: string | null;
}

interface TableDoc {
  columns: ColumnDoc[];
  primaryKey: string[];
  /** `name (a, b)`, sorted. */
  indexes: string[];
}

const page = readFileSync(new URL('../docs/state-schema.md', import.meta.url), 'utf8');

/** The words in backticks of a Markdown fragment. */
const ticked = (text: string): string[] => [...text.matchAll(/`([^`]*)`/g)].map((m) => m[1]);

/** Cells of a Markdown table row, pipes inside backticks kept. */
function cells(row: string): string[] {
  return row
    .replace(/^\|\s*|\s*\|$/g, '')
    .split(/\s+\|\s+/)
    .map((c) => c.trim());
}

function documentedTables(): Map<string, TableDoc> {
  const sql = page.slice(page.indexOf('## SQL stores'), page.indexOf('## DynamoDB'));
  const tables = new Map<string, TableDoc>();
  for (const part of sql.split(/^### /m).slice(1)) {
    const name = ticked(part.split('\n')[0])[0];
    const rows = part.split('\n').filter((l) => l.startsWith('| `'));
    const columns = rows.map((row) => {
      const [column, sqliteType, mysqlType, nullability] = cells(row);
      const nullMatch = /^(not null|null)(?:, default `(.*)`)?$/.exec(nullability);
      if (!nullMatch) throw new Error(`${name}: cannot read the null cell "${nullability}"`);
      return {
        name: ticked(column)[0],
        sqliteType: ticked(sqliteType)[0],
        mysqlType: ticked(mysqlType)[0],
        notNull: nullMatch[1] === 'not null',
        default: nullMatch[2] ?? null,
      };
    });
    const primaryKey = ticked(/^\*\*Primary key:\*\* (.*)$/m.exec(part)?.[1] ?? '');
    const indexLine = /^\*\*Indexes:\*\* (.*)$/m.exec(part)?.[1] ?? '';
    const indexes =
      indexLine.trim() === 'none'
        ? []
        : indexLine.split(';').map((entry) => {
            const [index, ...cols] = ticked(entry);
            return `${index} (${cols.join(', ')})`;
          });
    tables.set(name, { columns, primaryKey, indexes: indexes.sort() });
  }
  return tables;
}

let raw: SQLite.Database;
let db: Kysely<Database>;

beforeAll(async () => {
  raw = new SQLite(':memory:');
  db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  await migrateStoreToLatest(db, 'sqlite');
});

afterAll(async () => {
  await db.destroy();
});

function actualTables(): Map<string, TableDoc> {
  const names = raw
    .prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")
    .pluck()
    .all() as string[];
  const tables = new Map<string, TableDoc>();
  for (const name of names) {
    const info = raw.prepare('select * from pragma_table_info(?) order by cid').all(name) as Array<{
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }>;
    const indexes = (
      raw.prepare("select name from pragma_index_list(?) where origin = 'c'").pluck().all(name) as string[]
    ).map((index) => {
      const cols = raw.prepare('select name from pragma_index_info(?) order by seqno').pluck().all(index);
      return `${index} (${cols.join(', ')})`;
    });
    tables.set(name, {
      columns: info.map((c) => ({
        name: c.name,
        sqliteType: c.type,
        mysqlType: '',
        notNull: c.notnull === 1,
        default: c.dflt_value,
      })),
      primaryKey: info
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      indexes: indexes.sort(),
    });
  }
  return tables;
}

/** How a column type of migrations.ts is spelt on MySQL (`columnTypes`, Kysely's own tables). */
const MYSQL_TYPE: Record<string, string> = {
  'varchar(191)': 'VARCHAR(191)',
  'varchar(255)': 'VARCHAR(255)',
  text: 'LONGTEXT',
  blob: 'LONGBLOB',
  bigint: 'BIGINT',
  'double precision': 'DOUBLE',
  integer: 'INT',
};

describe('docs/state-schema.md', () => {
  it('documents every table the migrations create, and no other', () => {
    expect([...documentedTables().keys()].sort()).toEqual([...actualTables().keys()].sort());
  });

  it('documents the columns of each table: order, types, nullability and defaults as SQLite has them', () => {
    const documented = documentedTables();
    for (const [name, actual] of actualTables()) {
      const doc = documented.get(name);
      const shape = (t: TableDoc | undefined) =>
        t?.columns.map((c) => [c.name, c.sqliteType.toLowerCase(), c.notNull, c.default]);
      expect(shape(doc), `columns of ${name}`).toEqual(shape(actual));
    }
  });

  it('documents the primary key and indexes of each table', () => {
    const documented = documentedTables();
    for (const [name, actual] of actualTables()) {
      expect(documented.get(name)?.primaryKey, `primary key of ${name}`).toEqual(actual.primaryKey);
      expect(documented.get(name)?.indexes, `indexes of ${name}`).toEqual(actual.indexes);
    }
  });

  it('gives each column the MySQL type its SQLite type has in the migrations', () => {
    for (const [name, table] of documentedTables()) {
      for (const c of table.columns) {
        expect(c.mysqlType, `${name}.${c.name}`).toBe(MYSQL_TYPE[c.sqliteType.toLowerCase()]);
      }
    }
  });
});
