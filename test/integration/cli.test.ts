/**
 * The CLI as an operator runs it (the real process, from source): --version, --help per command,
 * options a command does not take, and `sluice validate` on good and bad files (secret files
 * included). Nothing here needs a database: validate must not touch one.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { freePort } from '../helpers/free-port.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const GOOD_YAML = `
server: { host: 0.0.0.0, port: 9090 }
auth:
  jwt: { secret: "\${file:jwt-secret}", algorithms: [HS256] }
connections:
  main: postgres://app@127.0.0.1:1/app
  shop: mysql://app@127.0.0.1:1/shop
  local: ./data/app.db
workers: { threads: 3 }
permissions:
  member:
    main:
      customers: { select: { columns: [id, name], filter: { tenant_id: $claims.tenant_id } } }
  auditor: {}
`;

describe('sluice --version and --help', () => {
  it('--version prints the package version and exits 0', async () => {
    const r = await runCli(['--version']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('--help lists every command and exits 0', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const command of ['serve', 'api', 'worker', 'validate', 'token', 'check', 'healthcheck', 'demo']) expect(r.stdout).toContain(`sluice ${command}`);
  });

  it.each([
    ['serve', ['--config', '--port', '--host', 'SIGHUP']],
    ['worker', ['--threads', '--metrics-port', '/readyz']],
    ['validate', ['--config', 'Exit 0']],
    ['check', ['--claims', '--sql', '--connection']],
    ['healthcheck', ['--url', '--timeout', 'SLUICE_HEALTHCHECK_URL']],
  ])('sluice %s --help shows that command only and exits 0', async (command, expected) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: sluice ${command} `));
    for (const text of expected) expect(r.stdout).toContain(text);
    // Only its own synopsis, not the overview.
    expect(r.stdout.match(/sluice \w+ /g)?.every((m) => m === `sluice ${command} `)).toBe(true);
  });

  it('refuses an option the command does not take, with that command\'s usage, exit 2', async () => {
    const r = await runCli(['token', '--config', 'x.json', '--claims', '{}', '--threads', '4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('sluice: --threads is not an option of sluice token');
    expect(r.stderr).toContain('usage: sluice token --config FILE');
  });

  it('an unknown command or none is bad usage (exit 2)', async () => {
    expect((await runCli(['frobnicate'])).stderr).toContain('unknown command "frobnicate"');
    expect((await runCli([])).code).toBe(2);
  });
});

describe('sluice healthcheck', () => {
  it('exits 1 with a clear line when nothing listens, or the answer does not come within --timeout', async () => {
    const closed = `http://127.0.0.1:${await freePort()}/readyz`;
    const refused = await runCli(['healthcheck', '--url', closed]);
    expect(refused.code).toBe(1);
    expect(refused.stdout.trim()).toBe(`${closed}: ECONNREFUSED`);
    // Accepts the connection, never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/readyz`;
    try {
      const r = await runCli(['healthcheck', '--timeout', '500'], { SLUICE_HEALTHCHECK_URL: url });
      expect(r.code).toBe(1);
      expect(r.stdout.trim()).toBe(`${url}: no answer within 500 ms`);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    expect((await runCli(['healthcheck', '--url', 'ftp://x'])).code).toBe(2);
  });
});

describe('sluice validate', () => {
  it('accepts a good file: exit 0 and a one-line summary, reading its secret file relative to the config', async () => {
    write('jwt-secret', `${TEST_JWT_SECRET}\n`);
    const r = await runCli(['validate', '--config', write('good.yaml', GOOD_YAML)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe('good.yaml: valid; 3 connections: main (postgres), shop (mysql), local (sqlite); 2 roles; in-process queue; 3 threads; listens on 0.0.0.0:9090');
  });

  it('refuses a bad file: exit 2, one line per error naming its key, nothing on stdout', async () => {
    const bad = GOOD_YAML.replace('threads: 3', 'threads: 0, thraeds: 2').replace('algorithms: [HS256]', 'algorithms: [none]');
    const r = await runCli(['validate', '--config', write('bad.yaml', bad)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.every((l) => l.startsWith('config error at '))).toBe(true);
    expect(r.stderr).toContain('config error at auth.jwt.algorithms[0]');
    expect(r.stderr).toContain('config error at workers.threads');
    expect(r.stderr).toContain('config error at workers.thraeds: unknown key');
  });

  it('names the key whose secret file is missing, and an unset variable', async () => {
    const missing = join(dir, 'absent-secret');
    const r = await runCli(['validate', '--config', write('missing.yaml', GOOD_YAML.replace('${file:jwt-secret}', `\${file:${missing}}`))]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`config error at auth.jwt.secret: secret file ${missing} does not exist (referenced as \${file:${missing}})`);
    const unset = await runCli(['validate', '--config', write('unset.yaml', GOOD_YAML.replace('127.0.0.1:1/app', '${DB_HOST_UNSET_FOR_TEST}/app'))]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('config error at connections.main: environment variable DB_HOST_UNSET_FOR_TEST is not set');
  });

  it('an unreadable or unparsable file, or no --config, is exit 2', async () => {
    expect(await runCli(['validate', '--config', join(dir, 'nope.yaml')])).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot read') });
    expect(await runCli(['validate', '--config', write('broken.json', '{')])).toMatchObject({ code: 2, stderr: expect.stringContaining('not valid JSON') });
    expect(await runCli(['validate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--config is required') });
  });
});
