/**
 * TLS to Postgres and MySQL/MariaDB, one spelling for both, in the connection URL (libpq's):
 * `sslmode` = disable | require | verify-ca | verify-full, `sslrootcert` (CA file, or `system`),
 * `sslcert` + `sslkey` (client certificate), and `ssl=true|false` (verify-full | disable).
 *
 * sluice decides what each mode means, not the driver: pg treats require/verify-ca as verify-full
 * today and says it will switch to libpq's weaker meaning in its next major, and mysql2 checks the
 * host name only when asked. A mode that sluice cannot honour (prefer/allow: falling back to an
 * unencrypted connection) or a parameter it does not know is refused at start-up (fail closed).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';

export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface DbTls {
  mode: SslMode;
  /** CA file the server's certificate must chain to; absent: Node's bundled CAs. */
  rootCert?: string;
  /** Client certificate and key files (PEM). */
  cert?: string;
  key?: string;
}

export const TLS_PARAMS = ['ssl', 'sslmode', 'sslrootcert', 'sslcert', 'sslkey'] as const;
const MODES: readonly string[] = ['disable', 'require', 'verify-ca', 'verify-full'] satisfies SslMode[];
/** libpq's value for "the system's CAs": Node's bundled CAs here, i.e. no `ca` option. */
const SYSTEM_ROOT = 'system';

function searchParams(url: string): URLSearchParams {
  try {
    return new URL(url).searchParams;
  } catch {
    return new URLSearchParams();
  }
}

/** Parameters that look like TLS settings but are not sluice's: refused rather than handed to a driver. */
export function unknownTlsParams(url: string): string[] {
  return [...searchParams(url).keys()].filter((k) => /^ssl|^uselibpqcompat$/i.test(k) && !(TLS_PARAMS as readonly string[]).includes(k));
}

/** What the URL asks for, or a message saying what is wrong with it (the URL itself is never echoed). */
export function parseDbTls(url: string): { tls: DbTls | undefined } | { error: string } {
  const params = searchParams(url);
  const one = (name: string): string | undefined | null => {
    const all = params.getAll(name);
    return all.length > 1 ? null : all[0];
  };
  const values = Object.fromEntries(TLS_PARAMS.map((p) => [p, one(p)])) as Record<(typeof TLS_PARAMS)[number], string | undefined | null>;
  const repeated = TLS_PARAMS.find((p) => values[p] === null);
  if (repeated !== undefined) return { error: `gives ${repeated} more than once` };
  const { ssl, sslmode, sslrootcert, sslcert, sslkey } = values as Record<(typeof TLS_PARAMS)[number], string | undefined>;
  if (ssl !== undefined && sslmode !== undefined) return { error: 'gives both ssl and sslmode: keep sslmode' };
  if (ssl !== undefined && ssl !== 'true' && ssl !== 'false') return { error: 'ssl must be true or false (or use sslmode)' };
  if (sslmode !== undefined && !MODES.includes(sslmode)) {
    const why = sslmode === 'prefer' || sslmode === 'allow' ? ' (sluice never falls back to an unencrypted connection)' : '';
    return { error: `sslmode must be one of ${MODES.join(', ')}, not "${sslmode}"${why}` };
  }
  if ((sslcert === undefined) !== (sslkey === undefined)) return { error: 'needs both sslcert and sslkey (a client certificate and its key)' };
  const files = sslrootcert !== undefined || sslcert !== undefined;
  let mode: SslMode | undefined = ssl === 'true' ? 'verify-full' : ssl === 'false' ? 'disable' : (sslmode as SslMode | undefined);
  // Certificates without a mode: the strictest mode, never a silent plaintext connection.
  if (mode === undefined) mode = files ? 'verify-full' : undefined;
  if (mode === undefined) return { tls: undefined };
  if (mode === 'disable') return files ? { error: 'sslmode=disable cannot use sslrootcert, sslcert or sslkey' } : { tls: { mode } };
  const rootCert = sslrootcert === SYSTEM_ROOT ? undefined : sslrootcert;
  // As libpq: a CA given with `require` is checked (verify-ca).
  if (mode === 'require' && rootCert !== undefined) mode = 'verify-ca';
  if (mode === 'verify-ca' && rootCert === undefined) return { error: 'sslmode=verify-ca needs sslrootcert=<CA file> (or use verify-full, which also checks the host name)' };
  const tls: DbTls = { mode };
  if (rootCert !== undefined) tls.rootCert = rootCert;
  if (sslcert !== undefined && sslkey !== undefined) Object.assign(tls, { cert: sslcert, key: sslkey });
  return { tls };
}

/** The URL's host when it is an IP address literal (brackets of IPv6 removed). */
function ipHost(url: string): string | undefined {
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    return isIP(host) === 0 ? undefined : host;
  } catch {
    return undefined;
  }
}

/** Config-time check: the mode is valid and every file it names is a readable file. */
export function checkDbTls(url: string, dialect: 'postgres' | 'mysql'): string | undefined {
  const unknown = unknownTlsParams(url);
  if (unknown.length > 0) return `has TLS parameters sluice does not know: ${unknown.join(', ')} (use ${TLS_PARAMS.join(', ')})`;
  const parsed = parseDbTls(url);
  if ('error' in parsed) return parsed.error;
  // mysql2 checks a certificate against a host NAME only; with an IP address it would silently
  // accept any certificate of the trusted CA (seen in test/integration/db-tls.test.ts).
  if (dialect === 'mysql' && parsed.tls?.mode === 'verify-full' && ipHost(url) !== undefined) {
    return `verify-full (also ssl=true, or certificates without sslmode) needs a host name, not the IP address ${ipHost(url)}, on MySQL: mysql2 cannot check a certificate against an address (connect by name, or use sslmode=verify-ca)`;
  }
  for (const [param, file] of [
    ['sslrootcert', parsed.tls?.rootCert],
    ['sslcert', parsed.tls?.cert],
    ['sslkey', parsed.tls?.key],
  ] as const) {
    if (file === undefined) continue;
    try {
      if (!statSync(file).isFile()) return `${param} ${file} is not a file`;
      accessSync(file, constants.R_OK);
    } catch (e) {
      return `${param} ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
  }
  return undefined;
}

/** The URL without sluice's TLS parameters: the driver gets TLS as options, never from the URL. */
export function withoutTlsParams(url: string): string {
  const u = new URL(url);
  if (!TLS_PARAMS.some((p) => u.searchParams.has(p))) return url;
  for (const p of TLS_PARAMS) u.searchParams.delete(p);
  return u.toString();
}
