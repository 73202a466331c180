/** Loads test/fixtures/pg-attacks.yaml and expands its placeholders and size macros. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface AttackEntry {
  name: string;
  category: string;
  sql: string;
  params?: unknown[];
  expect: 'refused' | 'own-rows';
  /** For refused: the response code must be one of these. */
  code?: string | string[];
  /** For own-rows answered 200: exact row count. */
  rows?: number;
  /** For own-rows answered 200: exact rows. */
  equals?: unknown[];
}

const CORPUS = new URL('../fixtures/pg-attacks.yaml', import.meta.url);

function nestedFrom(depth: number): string {
  let sql = 'customers';
  for (let i = 0; i < depth; i++) sql = `(select * from ${sql}) s${i}`;
  return sql;
}

function nestedBool(depth: number): string {
  let expr = 'id = 0';
  for (let i = depth; i > 0; i--) expr = `(id = ${i} ${i % 2 === 0 ? 'or' : 'and'} ${expr})`;
  return expr;
}

const MACROS: Record<string, (n: number) => string> = {
  in_list: (n) => Array.from({ length: n }, (_, i) => String(i + 1)).join(', '),
  nested_or: nestedBool,
  nested_from: nestedFrom,
  union_all: (n) => Array.from({ length: n }, () => 'union all select 1').join(' '),
};

export function expandSql(sql: string, vars: { schema: string; other: string }): string {
  return sql
    .replaceAll('{{schema}}', vars.schema)
    .replaceAll('{{other}}', vars.other)
    .replace(/\{\{(\w+):(\d+)\}\}/g, (m, name: string, n: string) => {
      const macro = MACROS[name];
      if (!macro) throw new Error(`unknown corpus macro ${m}`);
      return macro(Number(n));
    });
}

export function loadAttackCorpus(): AttackEntry[] {
  const entries = parse(readFileSync(CORPUS, 'utf8')) as AttackEntry[];
  const names = new Set<string>();
  for (const e of entries) {
    if (!e.name || !e.category || !e.sql || (e.expect !== 'refused' && e.expect !== 'own-rows')) {
      throw new Error(`malformed corpus entry: ${JSON.stringify(e)}`);
    }
    if (names.has(e.name)) throw new Error(`duplicate corpus entry name: ${e.name}`);
    names.add(e.name);
  }
  return entries;
}
