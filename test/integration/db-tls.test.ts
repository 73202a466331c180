/**
 * Database TLS as documented (docs/configuration.md, "TLS to the database"), against a PRIVATE
 * Postgres and a PRIVATE MariaDB that only accept TLS connections, with a throw-away CA whose
 * server certificate names `localhost` only. For each dialect, through the config schema and the
 * pools sluice really opens: require encrypts without checking; verify-ca checks the chain, not the
 * name; verify-full checks both (so 127.0.0.1 fails, localhost passes); a wrong CA fails;
 * disable is refused by the server; a client certificate logs in a user that needs one.
 *
 * Starts private servers (ports 5443 and 3317): run under `flock /tmp/sluice-private.lock`.
 */
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import type { MysqlConnectionConfig, PostgresConnectionConfig } from '../../src/config/types.js';
import { createMysqlPool } from '../../src/drivers/mysql/mysql-pools.js';
import { createPgPool } from '../../src/drivers/pg/pg-pools.js';
import { createEngine } from '../../src/engine.js';
import { privateMariadbAvailable, startPrivateMariadb, type PrivateMariadb } from '../helpers/private-mariadb.js';
import { describeIfPrivatePg, startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { requireService } from '../helpers/services.js';
import { makeTestCerts, type TestCerts } from '../helpers/test-certs.js';
import { TEST_JWT_SECRET } from '../helpers/tokens.js';

const PG_PORT = 5443;
const MARIA_PORT = 3317;
const CERT_USER = 'sluice_cert_user';
const silent = (): void => undefined;

let certs: TestCerts;
beforeAll(async () => {
  certs = await makeTestCerts(CERT_USER);
}, 120_000);
afterAll(async () => {
  if (certs) await rm(certs.dir, { recursive: true, force: true });
});

function configWith(url: string): ReturnType<typeof parseConfig> {
  return parseConfig({ auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } }, connections: { main: { url, connectionTimeoutMs: 5000 } } });
}

describeIfPrivatePg('Postgres TLS', { timeout: 60_000 }, () => {
  let server: PrivatePostgres;

  beforeAll(async () => {
    server = await startPrivatePostgres(PG_PORT, {
      settings: ['ssl=on', 'ssl_cert_file=server.crt', 'ssl_key_file=server.key', 'ssl_ca_file=ca.crt'],
      async beforeStart({ data, own }) {
        for (const [from, to] of [
          [certs.serverCert, 'server.crt'],
          [certs.serverKey, 'server.key'],
          [certs.ca, 'ca.crt'],
        ] as const) {
          await copyFile(from, join(data, to));
          await own(join(data, to));
        }
        const { writeFile } = await import('node:fs/promises');
        // TLS only over TCP; CERT_USER must present a client certificate.
        await writeFile(
          join(data, 'pg_hba.conf'),
          ['local all all trust', `hostssl all ${CERT_USER} 127.0.0.1/32 cert`, 'hostssl all all 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 reject', ''].join('\n'),
        );
      },
    });
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${PG_PORT}/postgres`, ssl: { rejectUnauthorized: false } });
    await admin.connect();
    await admin.query(`create role ${CERT_USER} login`);
    await admin.end();
  }, 120_000);

  afterAll(async () => {
    await server?.destroy();
  });

  const url = (host: string, params: string, user = 'postgres'): string => `postgres://${user}@${host}:${PG_PORT}/postgres${params === '' ? '' : `?${params}`}`;

  /** Through the config schema and the pool sluice opens: whether the session is encrypted, or the error. */
  async function sslInUse(u: string): Promise<boolean | string> {
    const conn = configWith(u).connections.main as PostgresConnectionConfig;
    const pool = createPgPool(conn, { max: 1, applicationName: 'sluice-tls-test', idleTimeoutMs: 0 }, silent);
    try {
      const { rows } = await pool.query<{ ssl: boolean }>('select ssl from pg_stat_ssl where pid = pg_backend_pid()');
      return rows[0]!.ssl;
    } catch (e) {
      return (e as Error).message;
    } finally {
      await pool.end();
    }
  }

  it('sslmode=require encrypts without checking the certificate', async () => {
    expect(await sslInUse(url('127.0.0.1', 'sslmode=require'))).toBe(true);
  });

  it('sslmode=verify-ca checks the chain against sslrootcert but not the host name', async () => {
    expect(await sslInUse(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.ca}`))).toBe(true);
    expect(await sslInUse(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.otherCa}`))).toMatch(/self[- ]signed|unable to verify|certificate/i);
    // libpq: require with a CA is verify-ca.
    expect(await sslInUse(url('127.0.0.1', `sslmode=require&sslrootcert=${certs.otherCa}`))).toMatch(/certificate/i);
  });

  it('sslmode=verify-full (and ssl=true, and certificates without a mode) also checks the host name', async () => {
    expect(await sslInUse(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`))).toBe(true);
    expect(await sslInUse(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${certs.ca}`))).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|altnames/i);
    expect(await sslInUse(url('127.0.0.1', `sslrootcert=${certs.ca}`))).toMatch(/altnames/i);
    // The test CA is not one of Node's bundled CAs.
    expect(await sslInUse(url('localhost', 'ssl=true'))).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });

  it('sslmode=disable (and no TLS parameter) sends no TLS: this server refuses it', async () => {
    expect(await sslInUse(url('127.0.0.1', 'sslmode=disable'))).toMatch(/no encryption|pg_hba\.conf rejects/);
    expect(await sslInUse(url('127.0.0.1', ''))).toMatch(/no encryption|pg_hba\.conf rejects/);
  });

  it('sslcert and sslkey log in a user that must present a client certificate', async () => {
    expect(await sslInUse(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`, CERT_USER))).toBe(true);
    expect(await sslInUse(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`, CERT_USER))).toMatch(/certificate/i);
  });

  it('an engine over verify-full is ready; over the wrong CA it is not', async () => {
    for (const [ca, status] of [
      [certs.ca, 200],
      [certs.otherCa, 503],
    ] as const) {
      const engine = createEngine(configWith(url('localhost', `sslmode=verify-full&sslrootcert=${ca}`)), { logger: false });
      try {
        const { url: base } = await engine.listen({ host: '127.0.0.1', port: 0 });
        expect((await fetch(`${base}/readyz`)).status).toBe(status);
      } finally {
        await engine.close();
      }
    }
  });
});

const mariaUp = requireService('mariadbd and mariadb-install-db (for a private TLS server)', privateMariadbAvailable());

describe.skipIf(!mariaUp)('MariaDB TLS', { timeout: 60_000 }, () => {
  let server: PrivateMariadb;

  beforeAll(async () => {
    server = await startPrivateMariadb(MARIA_PORT, [`--ssl-ca=${certs.ca}`, `--ssl-cert=${certs.serverCert}`, `--ssl-key=${certs.serverKey}`, '--require-secure-transport=ON']);
    await server.sql(
      [
        "DELETE FROM mysql.global_priv WHERE User = ''",
        'FLUSH PRIVILEGES',
        'CREATE DATABASE app',
        "CREATE USER 'sluice'@'%'",
        "GRANT ALL ON app.* TO 'sluice'@'%'",
        `CREATE USER '${CERT_USER}'@'%' REQUIRE X509`,
        `GRANT ALL ON app.* TO '${CERT_USER}'@'%'`,
      ].join(';'),
    );
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
  });

  const url = (host: string, params: string, user = 'sluice'): string => `mysql://${user}@${host}:${MARIA_PORT}/app${params === '' ? '' : `?${params}`}`;

  /** The session's cipher through the pool sluice opens ('' = not encrypted), or the error. */
  async function cipher(u: string): Promise<string> {
    const conn = configWith(u).connections.main as MysqlConnectionConfig;
    const pool = createMysqlPool(conn, 1, silent);
    try {
      const [rows] = (await pool.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) as unknown as [{ Value: string }[]];
      return rows[0]!.Value === '' ? 'not encrypted' : 'encrypted';
    } catch (e) {
      return (e as Error).message;
    } finally {
      await pool.end();
    }
  }

  it('sslmode=require encrypts without checking the certificate', async () => {
    expect(await cipher(url('127.0.0.1', 'sslmode=require'))).toBe('encrypted');
  });

  it('sslmode=verify-ca checks the chain, not the host name', async () => {
    expect(await cipher(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.ca}`))).toBe('encrypted');
    expect(await cipher(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.otherCa}`))).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });

  it('sslmode=verify-full checks the host name; by IP address it is refused at start-up (mysql2 would not check it)', async () => {
    expect(await cipher(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`))).toBe('encrypted');
    expect(await cipher(url('localhost', 'ssl=true'))).toMatch(/self[- ]signed|unable to verify|certificate/i);
    expect(() => configWith(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${certs.ca}`))).toThrow(/needs a host name, not the IP address 127\.0\.0\.1/);
  });

  it('sslmode=disable sends no TLS: this server refuses it (the same login with sslmode=require is accepted)', async () => {
    // MariaDB answers a plaintext login under require_secure_transport with "Access denied".
    expect(await cipher(url('127.0.0.1', 'sslmode=disable'))).toMatch(/insecure transport|Access denied/i);
    expect(await cipher(url('127.0.0.1', ''))).toMatch(/insecure transport|Access denied/i);
    expect(await cipher(url('127.0.0.1', 'sslmode=require'))).toBe('encrypted');
  });

  it('sslcert and sslkey log in a user that must present a client certificate', async () => {
    expect(await cipher(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`, CERT_USER))).toBe('encrypted');
    expect(await cipher(url('localhost', `sslmode=verify-full&sslrootcert=${certs.ca}`, CERT_USER))).toMatch(/Access denied/);
  });
});
