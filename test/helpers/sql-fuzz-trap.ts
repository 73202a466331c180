/**
 * The fuzzers' error oracle (issue 11, finding 6): "error vs no error" must not depend on rows the
 * caller may not see. A trap is a predicate over a text column of a base table that is true on
 * every row of the caller's tenant and raises an error on another tenant's row (text values that
 * start with `T<digit>`, another tenant's digit: test/fixtures mark every tenant's text that way). For the tenant alone the trap is plain `true`, and
 * that is how the oracle prints it; through sluice, on the shared table, the fast form may evaluate
 * it on another tenant's row before the row filter removes that row. The error must then never
 * reach the caller: sluice must answer exactly what the tenant alone gets (the judges throw when a
 * trap's error comes back).
 *
 * Postgres: a PL/pgSQL function of negligible cost (so the planner evaluates it before the tenant
 * filter whenever it can), raising a SQLSTATE the generator picks — a program limit (54000, the
 * finding), a RAISE (P0001), a routine error (2F005) and one borrowed from a row-independent class
 * (42P01: raised inside a function, it counts whatever its class). MariaDB: `exp()` overflowing
 * (1690). SQLite: `abs()` of the smallest integer ("integer overflow").
 */
import type pg from 'pg';

/** SQLSTATEs the Postgres trap raises; the generator produces them nowhere else. */
export const PG_TRAP_CODES = ['54000', 'P0001', '2F005', '42P01'] as const;

const MARKER = '{{trap_marker}}';
/** Replaced by the suite with the trap function's name (it lives in `public`: functions may not be schema-qualified). */
export const PG_TRAP_FN = '{{trap}}';

export function pgTrapCall(arg: string, code: string): string {
  return `${PG_TRAP_FN}(${arg}, '${MARKER}', '${code}')`;
}

/** The caller's own marker, for a statement run as `tenant`. */
export function withTrapMarker(sql: string, tenant: number): string {
  return sql.replaceAll(MARKER, `T${tenant}`);
}

/** The trap function, `cost 0.0001`: cheaper than any tenant filter, so it runs first where it can. */
export async function createPgTrap(admin: pg.Pool, name: string): Promise<void> {
  await admin.query(`create function public.${name}(v text, marker text, code text) returns boolean language plpgsql cost 0.0001 as $$
    begin
      if v ~ '^T[0-9]' and not starts_with(v, marker) then raise exception using errcode = code, message = 'trap: another tenant''s row was evaluated'; end if;
      return true;
    end $$`);
}

export async function dropPgTrap(admin: pg.Pool, name: string): Promise<void> {
  await admin.query(`drop function if exists public.${name}(text, text, text)`);
}

interface ErrorAnswer {
  status: number;
  body?: { error?: { code?: unknown; message?: unknown; sqlstate?: unknown } };
}

/** A Postgres trap's error came back through sluice. */
export function pgTrapFired(res: ErrorAnswer): boolean {
  const sqlstate = res.body?.error?.sqlstate;
  return res.status !== 200 && typeof sqlstate === 'string' && (PG_TRAP_CODES as readonly string[]).includes(sqlstate);
}

/** MariaDB and SQLite: a trap over `arg`, as sluice or the oracle (the tenant alone) prints it. */
export function dialectTrap(arg: string, o: { dialect: 'mysql' | 'sqlite'; mode: 'sluice' | 'oracle'; tenant: number }): string {
  if (o.mode === 'oracle') return '(1 = 1)';
  const other = (first: string, second: string): string => `${first} = 'T' and ${second} between '0' and '9' and ${second} <> '${o.tenant}'`;
  if (o.dialect === 'mysql') return `(exp(case when ${other(`left(${arg}, 1)`, `substr(${arg}, 2, 1)`)} then 1000 else 0 end) > 0)`;
  return `(abs(case when ${other(`substr(${arg}, 1, 1)`, `substr(${arg}, 2, 1)`)} then -2147483648 * 2147483648 * 2 else 1 end) > 0)`;
}

/** What the MariaDB and SQLite traps' errors become (mysql-errors.ts 1690, sqlite-errors.ts integer overflow). */
export function dialectTrapFired(res: ErrorAnswer): boolean {
  return res.status !== 200 && res.body?.error?.code === 'INVALID_INPUT' && res.body.error.message === 'A numeric value is out of range';
}
