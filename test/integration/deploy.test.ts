/**
 * The deploy files without a Docker engine: the Dockerfile and docker-compose.yml parse and name
 * files and CLI invocations that exist; the image's default config and the compose config are
 * valid sluice configs; and the health checks they declare, run as written, pass against real
 * running processes (`sluice serve` on the image's default config, `sluice worker`) and fail when
 * the process is not there or not ready.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { COMMANDS, checkOptions, isCommand, OPTIONS, type OptionName } from '../../src/cli/usage.js';
import { loadConfigFile } from '../../src/config/load.js';
import { freePort } from '../helpers/free-port.js';
import { runCli, startCli, type CliProcess } from '../helpers/cli-process.js';
import { createPgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { PG_TEST_URL } from '../helpers/skip.js';
import { memberPermissions, testConfig } from '../helpers/test-config.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as { bin: { sluice: string }; engines: { node: string } };
/** What the image runs: `node dist/src/cli.js …` (the package's bin). */
const IMAGE_CLI = pkg.bin.sluice.replace(/^\.\//, '');
const PROCESS_TEST_MS = 120_000;

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  healthcheck?: { test: string[] };
  configs?: { source: string; target: string }[];
  secrets?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  configs: Record<string, { content: string }>;
  secrets: Record<string, { environment?: string; file?: string }>;
}

const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as Compose;
const sluiceServices = Object.entries(compose.services).filter(([, s]) => s.build === '.');

/** The Dockerfile's instructions, continuation lines joined. */
const dockerfile = read('Dockerfile')
  .replace(/\\\n\s*/g, '')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
const instructions = (name: string): string[] => dockerfile.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1).trim());

/** `sluice <args>` as the image would run it: a known command with options it takes. */
function checkInvocation(args: string[]): void {
  const [command, ...rest] = args;
  expect(isCommand(command), `unknown command ${command}`).toBe(true);
  const values: Partial<Record<OptionName, unknown>> = {};
  for (let i = 0; i < rest.length; i++) {
    const name = rest[i]!.replace(/^--/, '') as OptionName;
    expect(Object.hasOwn(OPTIONS, name), `unknown option ${rest[i]}`).toBe(true);
    values[name] = OPTIONS[name].type === 'string' ? rest[++i] : true;
  }
  expect(() => checkOptions(command!, values)).not.toThrow();
  for (const [name, synopsis] of [['config', '--config FILE']] as const) {
    if (COMMANDS[command!]!.synopsis.includes(synopsis)) expect(values[name], `${command} needs --${name}`).toBeDefined();
  }
}

/** The health check's argv, for our CLI from source: `node dist/src/cli.js healthcheck …` → `healthcheck …`. */
function healthcheckArgs(test: string[]): string[] {
  const argv = test[0] === 'CMD' ? test.slice(1) : test;
  expect(argv.slice(0, 2)).toEqual(['node', IMAGE_CLI]);
  return argv.slice(2);
}

const dir = mkdtempSync(join(tmpdir(), 'sluice-deploy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const procs: CliProcess[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

describe('Dockerfile', () => {
  it('builds on an LTS Node line that package.json allows', () => {
    const arg = instructions('ARG').find((a) => a.startsWith('NODE_VERSION='));
    const major = Number(arg?.split('=')[1]);
    // Even majors are the LTS lines; 26 is the active one (Node 24 is in maintenance).
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(26);
    expect(Number(/>=\s*(\d+)/.exec(pkg.engines.node)![1])).toBeLessThanOrEqual(major);
    for (const from of instructions('FROM')) expect(from).toMatch(/^node:\$\{NODE_VERSION\}-slim\b/);
  });

  it('copies files that exist, runs the package bin, and declares a health check and the stop signal', () => {
    for (const copy of instructions('COPY').filter((c) => !c.startsWith('--from'))) {
      const sources = copy.split(/\s+/).slice(0, -1);
      for (const source of sources) expect(existsSync(new URL(source, root)), `COPY ${source}`).toBe(true);
    }
    expect(JSON.parse(instructions('ENTRYPOINT')[0]!)).toEqual(['node', IMAGE_CLI]);
    checkInvocation(JSON.parse(instructions('CMD')[0]!) as string[]);
    expect(instructions('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(instructions('HEALTHCHECK')).toHaveLength(1);
  });

  it("the image's default config is valid: 0.0.0.0:8080, secret and database from the environment, no permissions", () => {
    const cmd = JSON.parse(instructions('CMD')[0]!) as string[];
    const target = cmd[cmd.indexOf('--config') + 1];
    const copied = instructions('COPY').find((c) => c.endsWith(` ${target}`))!;
    const config = loadConfigFile(new URL(copied.split(/\s+/)[0]!, root).pathname, { SLUICE_JWT_SECRET: TEST_JWT_SECRET, SLUICE_DATABASE_URL: PG_TEST_URL });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080, drainDelayMs: 0 });
    expect(config.permissions).toEqual({});
    expect(() => loadConfigFile(new URL(copied.split(/\s+/)[0]!, root).pathname, {})).toThrow(/SLUICE_JWT_SECRET is not set/);
  });
});

describe('docker-compose.yml', () => {
  it('builds the sluice services from this Dockerfile, with valid commands and health checks that are sluice invocations', () => {
    expect(sluiceServices.map(([name]) => name).sort()).toEqual(['api', 'worker']);
    expect(existsSync(new URL('Dockerfile', root))).toBe(true);
    for (const [, service] of sluiceServices) {
      checkInvocation(service.command!);
      checkInvocation(healthcheckArgs(service.healthcheck!.test));
      for (const c of service.configs ?? []) expect(Object.hasOwn(compose.configs, c.source)).toBe(true);
      for (const s of service.secrets ?? []) expect(Object.hasOwn(compose.secrets, s)).toBe(true);
    }
  });

  it("the worker's health check probes the worker's own /readyz on its --metrics-port", () => {
    const worker = compose.services.worker!;
    const port = worker.command![worker.command!.indexOf('--metrics-port') + 1];
    const args = healthcheckArgs(worker.healthcheck!.test);
    expect(args[args.indexOf('--url') + 1]).toBe(`http://127.0.0.1:${port}/readyz`);
  });

  it('its inline config is a valid sluice config once the secret file is there', () => {
    // Compose interpolates first: every `${` must be escaped as `$${` (a literal `$`), so that sluice,
    // not compose, reads the secret file and the claims at start-up.
    const raw = compose.configs.sluice!.content;
    expect(raw).not.toMatch(/(?<!\$)\$\{/);
    const content = raw.replaceAll('$$', '$');
    // Inside the container the secret is at /run/secrets/<name>; here, in a temp directory.
    const secretDir = mkdtempSync(join(dir, 'secrets-'));
    writeFileSync(join(secretDir, 'sluice_jwt_secret'), `${TEST_JWT_SECRET}\n`);
    const file = join(dir, 'compose-config.yaml');
    writeFileSync(file, content.replaceAll('/run/secrets/', `${secretDir}/`));
    const config = loadConfigFile(file, {});
    expect(config.auth.jwt.secret).toBe(TEST_JWT_SECRET);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.queue.redis).toBe('redis://redis:6379');
    expect(Object.keys(compose.secrets)).toEqual(['sluice_jwt_secret']);
  });
});

describeIfPg('the health checks against real processes', { timeout: PROCESS_TEST_MS }, () => {
  const dockerCheck = (): string[] => healthcheckArgs(JSON.parse(instructions('HEALTHCHECK')[0]!.replace(/^.*?CMD\s+/, '')) as string[]);

  it("the image's HEALTHCHECK passes against `sluice serve` on the image's default config, and fails once it is gone", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/readyz`;
    const serve = startCli(['serve', '--config', new URL('deploy/sluice.yaml', root).pathname, '--port', String(port)], {
      SLUICE_JWT_SECRET: TEST_JWT_SECRET,
      SLUICE_DATABASE_URL: PG_TEST_URL,
    });
    procs.push(serve);
    await serve.waitFor(/listening on/, 60_000);
    // The image's check as written; only the port differs from the image (8080 may be taken here).
    const ok = await runCli(dockerCheck(), { SLUICE_HEALTHCHECK_URL: url });
    expect(ok.stdout).toContain(`${url}: 200`);
    expect(ok.code).toBe(0);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    const gone = await runCli(dockerCheck(), { SLUICE_HEALTHCHECK_URL: url });
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain('ECONNREFUSED');
  });

  it('fails (exit 1) when the process answers but is not ready', async () => {
    const port = await freePort();
    const serve = startCli(['serve', '--config', new URL('deploy/sluice.yaml', root).pathname, '--port', String(port)], {
      SLUICE_JWT_SECRET: TEST_JWT_SECRET,
      SLUICE_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
    });
    procs.push(serve);
    await serve.waitFor(/listening on/, 60_000);
    const r = await runCli(dockerCheck(), { SLUICE_HEALTHCHECK_URL: `http://127.0.0.1:${port}/readyz` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(': 503');
  });

  describeIfRedis("the compose worker's health check", () => {
    const prefix = `test-${randomUUID()}`;
    afterAll(() => dropRedisPrefix(prefix));

    /** The compose check with the port this test's worker got (9464 may be taken here). */
    const workerCheck = (port: number): string[] => {
      const args = healthcheckArgs(compose.services.worker!.healthcheck!.test);
      return args.map((a) => a.replace(/:\d+\/readyz$/, `:${port}/readyz`));
    };

    function startWorker(port: number, url: string): CliProcess {
      const file = join(dir, `${randomUUID()}.json`);
      const config = testConfig('public', { queue: { redis: REDIS_URL, prefix }, workers: { threads: 1 } });
      writeFileSync(file, JSON.stringify({ ...config, connections: { main: { url, max: 2, connectionTimeoutMs: 1000 } }, permissions: memberPermissions(), logging: { level: 'info' } }));
      const w = startCli(['worker', '--config', file, '--metrics-port', String(port)]);
      procs.push(w);
      return w;
    }

    it('passes while the worker runs with its database and Redis, fails once the worker is gone (Redis still up)', async () => {
      const fixture = await createPgFixture();
      try {
        const port = await freePort();
        const w = startWorker(port, PG_TEST_URL);
        await w.waitFor(/worker ready/, 60_000);
        const ok = await runCli(workerCheck(port));
        expect(ok.code).toBe(0);
        expect(ok.stdout).toContain('"queue:redis":{"ok":true}');
        expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

        w.child.kill('SIGTERM');
        expect(await w.exited).toBe(0);
        expect((await runCli(workerCheck(port))).code).toBe(1);
      } finally {
        await fixture.drop();
      }
    });

    it("fails while the worker's database is down, though the process and Redis are up", async () => {
      const port = await freePort();
      const w = startWorker(port, 'postgres://postgres@127.0.0.1:1/test');
      await w.waitFor(/worker ready/, 60_000);
      const r = await runCli(workerCheck(port));
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('"main":{"ok":false');
      expect(r.stdout).toContain('"queue:redis":{"ok":true}');
      // Alive all the same: /healthz is the liveness probe.
      await waitUntil('the worker answers /healthz', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok);
    });
  });
});
