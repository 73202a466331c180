/** The TLS parameters of Postgres and MySQL URLs as the config schema checks them (the connections themselves: test/integration/db-tls.test.ts). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDbTls } from '../../src/config/db-tls.js';
import { parseConfig } from '../../src/config/schema.js';
import { configErrorOf } from '../helpers/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-config-'));
const CA = join(dir, 'ca.pem');
writeFileSync(CA, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
const CERT = join(dir, 'client.pem');
writeFileSync(CERT, 'x');
const KEY = join(dir, 'client.key');
writeFileSync(KEY, 'x');

const config = (url: string, replicas?: string[]): unknown => ({
  auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } },
  connections: { main: replicas === undefined ? url : { url, replicas } },
});
const PG = 'postgres://app:s3cret-password@db:5432/app';
const MY = 'mysql://app:s3cret-password@db:3306/app';

describe('database TLS parameters', () => {
  it.each([
    ['', undefined],
    ['sslmode=disable', { mode: 'disable' }],
    ['ssl=false', { mode: 'disable' }],
    ['sslmode=require', { mode: 'require' }],
    ['ssl=true', { mode: 'verify-full' }],
    ['sslmode=verify-full', { mode: 'verify-full' }],
    ['sslmode=verify-full&sslrootcert=system', { mode: 'verify-full' }],
    [`sslrootcert=${CA}`, { mode: 'verify-full', rootCert: CA }],
    [`sslmode=require&sslrootcert=${CA}`, { mode: 'verify-ca', rootCert: CA }],
    [`sslmode=verify-ca&sslrootcert=${CA}&sslcert=${CERT}&sslkey=${KEY}`, { mode: 'verify-ca', rootCert: CA, cert: CERT, key: KEY }],
  ])('"%s" means %j', (params, tls) => {
    expect(parseDbTls(`${PG}${params === '' ? '' : `?${params}`}`)).toEqual({ tls });
  });

  it.each([PG, MY])('are accepted on %s URLs, and on replicas', (base) => {
    expect(() => parseConfig(config(`${base}?sslmode=verify-full&sslrootcert=${CA}`, [`${base}?sslmode=require`]))).not.toThrow();
  });

  it.each([
    ['sslmode=prefer', 'url: sslmode must be one of disable, require, verify-ca, verify-full, not "prefer" (sluice never falls back to an unencrypted connection)'],
    ['sslmode=no-verify', 'not "no-verify"'],
    ['ssl=1', 'ssl must be true or false'],
    ['ssl=true&sslmode=require', 'gives both ssl and sslmode'],
    ['sslmode=require&sslmode=disable', 'gives sslmode more than once'],
    ['sslmode=verify-ca', 'sslmode=verify-ca needs sslrootcert=<CA file>'],
    [`sslmode=disable&sslrootcert=${CA}`, 'sslmode=disable cannot use sslrootcert'],
    [`sslcert=${CERT}`, 'needs both sslcert and sslkey'],
    [`sslrootcert=${join(dir, 'absent.pem')}`, `sslrootcert ${join(dir, 'absent.pem')} cannot be read (ENOENT)`],
    [`sslrootcert=${dir}`, `sslrootcert ${dir} is not a file`],
    ['sslnegotiation=direct', 'has TLS parameters sluice does not know: sslnegotiation'],
    ['uselibpqcompat=true&sslmode=require', 'does not know: uselibpqcompat'],
  ])('refuses "%s" on a Postgres URL, naming the key and never the URL', (params, message) => {
    const error = configErrorOf(config(`${PG}?${params}`));
    expect(error).toContain('connections.main.url: ');
    expect(error).toContain(message);
    expect(error).not.toContain('s3cret-password');
  });

  it('refuses the same on MySQL URLs and on replicas', () => {
    expect(configErrorOf(config(`${MY}?sslmode=prefer`))).toContain('connections.main.url: sslmode must be one of');
    expect(configErrorOf(config(PG, [`${PG}?sslmode=verify-ca`]))).toContain('connections.main.replicas[0]: sslmode=verify-ca needs sslrootcert');
    expect(configErrorOf(config(`${MY}?ssl={"rejectUnauthorized":false}`))).toContain('ssl must be true or false');
  });

  it('refuses verify-full to a MySQL IP address (mysql2 checks names only); Postgres checks addresses', () => {
    for (const params of ['sslmode=verify-full', 'ssl=true', `sslrootcert=${CA}`]) {
      expect(configErrorOf(config(`mysql://app@10.1.2.3:3306/app?${params}`))).toContain('needs a host name, not the IP address 10.1.2.3, on MySQL');
      expect(configErrorOf(config(`mysql://app@[::1]:3306/app?${params}`))).toContain('not the IP address ::1');
    }
    expect(() => parseConfig(config(`mysql://app@10.1.2.3:3306/app?sslmode=verify-ca&sslrootcert=${CA}`))).not.toThrow();
    expect(() => parseConfig(config(`mysql://app@db.internal:3306/app?sslmode=verify-full`))).not.toThrow();
    expect(() => parseConfig(config(`postgres://app@10.1.2.3:5432/app?sslmode=verify-full`))).not.toThrow();
  });
});
