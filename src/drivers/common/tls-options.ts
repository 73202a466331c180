/**
 * The TLS settings a connection URL asks for (config/db-tls.ts), as what a driver needs: the URL
 * without them, and the certificate files read. Read once per pool, in the thread that opens it;
 * `sluice validate` and start-up have already checked that the files are there.
 */
import { readFileSync } from 'node:fs';
import { parseDbTls, withoutTlsParams } from '../../config/db-tls.js';

export interface DriverTls {
  /** false: encrypt without checking the certificate (sslmode=require). */
  rejectUnauthorized: boolean;
  /** false: the chain is checked, the host name is not (verify-ca). */
  checkHostname: boolean;
  ca?: string;
  cert?: string;
  key?: string;
}

export function tlsOf(url: string): { url: string; tls: DriverTls | undefined } {
  const parsed = parseDbTls(url);
  if ('error' in parsed) throw new Error(`connection TLS settings: ${parsed.error}`);
  const t = parsed.tls;
  if (t === undefined || t.mode === 'disable') return { url: withoutTlsParams(url), tls: undefined };
  const tls: DriverTls = { rejectUnauthorized: t.mode !== 'require', checkHostname: t.mode === 'verify-full' };
  if (t.rootCert !== undefined) tls.ca = readFileSync(t.rootCert, 'utf8');
  if (t.cert !== undefined && t.key !== undefined) {
    tls.cert = readFileSync(t.cert, 'utf8');
    tls.key = readFileSync(t.key, 'utf8');
  }
  return { url: withoutTlsParams(url), tls };
}
