/** `sluice check` lists the literals a statement carries and the verdict under each sql.literals mode. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { check } from '../../src/cli/check.js';
import { EXIT } from '../../src/cli/usage.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-check-literals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, 'sluice.json');
const notes = { notes: { select: { columns: ['id', 'body'], filter: { tenant_id: '$claims.tenant_id', kind: 'public' } } } };
writeFileSync(
  file,
  JSON.stringify({
    auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
    connections: { pg: 'postgres://app@127.0.0.1:5432/app', lite: join(dir, 'app.db') },
    sql: { literals: { default: 'refuse-strings', roles: { admin: 'allow' } } },
    permissions: { member: { pg: notes, lite: notes }, admin: { pg: notes, lite: notes } },
  }),
);

async function run(role: string, sql: string, connection: string): Promise<{ exit: number; lines: string[] }> {
  const lines: string[] = [];
  const exit = await check(file, { sub: 'u1', role, tenant_id: 7 }, sql, connection, (l) => lines.push(l));
  return { exit, lines };
}

it.each(['pg', 'lite'])('%s: a refused statement names the literal, never its value, and the verdict per mode', async (connection) => {
  const sql = "select body from notes where id > 5 and body = 'top secret'";
  const { exit, lines } = await run('member', sql, connection);
  expect(exit).toBe(EXIT.failed);
  expect(lines).toContain('code: LITERAL_NOT_ALLOWED (400)');
  expect(lines).toContain('literals: integer at character 35, string at character 48');
  expect(lines).toContain('  under allow: allowed');
  expect(lines).toContain('  under refuse-strings: refused (string at character 48)  ← sql.literals for this connection and role');
  expect(lines).toContain('  under refuse: refused (integer at character 35)');
  expect(lines.join('\n')).not.toContain('top secret');
});

it.each(['pg', 'lite'])('%s: an allowed statement shows its literals too, and the role\'s mode', async (connection) => {
  const { exit, lines } = await run('admin', "select body from notes where body = 'x'", connection);
  expect(exit).toBe(EXIT.ok);
  expect(lines).toContain('verdict: allowed');
  expect(lines).toContain('  under allow: allowed  ← sql.literals for this connection and role');
  expect(lines).toContain('  under refuse-strings: refused (string at character 37)');

  // The gateway's own filter values ('public') are parameters: not in the list.
  const plain = await run('member', 'select body from notes where id = 1', connection);
  expect(plain.exit).toBe(EXIT.ok);
  expect(plain.lines).toContain('literals: integer at character 35');
  expect(plain.lines).toContain('  under refuse: allowed');
});
