/**
 * Throw-away certificates for TLS tests (openssl): a CA, a server certificate it signs for
 * `localhost` only (so verify-full passes on localhost and fails on 127.0.0.1, while verify-ca
 * passes on both), a client certificate for a given user, and a second, unrelated CA.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const openssl = (args: string[], cwd: string): Promise<unknown> => run('openssl', args, { cwd, timeout: 60_000 });

export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here. */
  otherCa: string;
}

async function selfSignedCa(cwd: string, name: string): Promise<void> {
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`], cwd);
}

async function signed(cwd: string, name: string, subject: string, extensions: string): Promise<void> {
  await writeFile(join(cwd, `${name}.ext`), extensions);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], cwd);
  await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], cwd);
  // Postgres refuses a key file others can read.
  await chmod(join(cwd, `${name}.key`), 0o600);
}

export async function makeTestCerts(clientUser: string): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-certs-'));
  await selfSignedCa(dir, 'ca');
  await selfSignedCa(dir, 'other-ca');
  await signed(dir, 'server', '/CN=localhost', 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await signed(dir, 'client', `/CN=${clientUser}`, 'extendedKeyUsage=clientAuth\n');
  const f = (n: string): string => join(dir, n);
  return { dir, ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key'), otherCa: f('other-ca.crt') };
}
