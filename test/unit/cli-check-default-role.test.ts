/** `sluice check` reads a token's role as the gateway does, auth.defaultRole included. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { check } from '../../src/cli/check.js';
import { EXIT } from '../../src/cli/usage.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-check-role-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(defaultRole: string | undefined): string {
  const file = join(dir, `${defaultRole ?? 'none'}.json`);
  const permissions = { member: { main: { notes: { select: { columns: ['id', 'body'], filter: { tenant_id: '$claims.tenant_id' } } } } } };
  const auth = { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] }, ...(defaultRole !== undefined && { defaultRole }) };
  writeFileSync(file, JSON.stringify({ auth, connections: { main: 'postgres://app@127.0.0.1:5432/app' }, permissions }));
  return file;
}

it('gives claims without a role the default role, and refuses them without one', async () => {
  const lines: string[] = [];
  const code = await check(configFile('member'), { sub: 'u1', tenant_id: 7 }, 'select body from notes', undefined, (l) => lines.push(l));
  expect(code).toBe(EXIT.ok);
  expect(lines).toContain('verdict: allowed');
  expect(lines).toContain('role: member');
  expect(lines).toContain('  $1  $claims.tenant_id = 7');

  const refused: string[] = [];
  expect(await check(configFile(undefined), { sub: 'u1', tenant_id: 7 }, 'select body from notes', undefined, (l) => refused.push(l))).toBe(EXIT.failed);
  expect(refused).toContain('code: TOKEN_INVALID (401)');
});
