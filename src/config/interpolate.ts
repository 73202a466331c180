/**
 * `${VAR}`, `${VAR:-default}` and `${file:/path}` in string values (never keys). Variables come
 * from an explicit env object so nothing reads process.env behind the caller's back; `${file:…}`
 * reads a file (a Docker/Kubernetes secret), with trailing line breaks removed (what `echo` and
 * editors add), as `$(cat file)` does in a shell. `$${` escapes a literal `${`. What a reference
 * resolves to is never scanned again, so a secret containing `${` stays as it is. A variable that
 * is unset, or a file that cannot be read, is an error naming the key — never the value.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config-error.js';

const REFERENCE = /\$\$\{|\$\{file:([^}]*)\}|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** A secret, a key or a CA bundle; anything larger is a wrong path, not a secret. */
const MAX_FILE_BYTES = 1024 * 1024;

export type Env = Readonly<Record<string, string | undefined>>;

export interface InterpolateOptions {
  /** Relative `${file:…}` paths resolve against this (loadConfigFile: the config file's directory). */
  baseDir?: string;
}

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EACCES: 'is not readable (permission denied)',
  EPERM: 'is not readable (permission denied)',
  EISDIR: 'is a directory',
  ENOTDIR: 'does not exist (a parent is not a directory)',
};

/** The file's text without trailing line breaks; throws ConfigError naming `path` (the key). */
function readSecretFile(file: string, match: string, path: PropertyKey[]): string {
  const fail = (why: string): never => {
    throw ConfigError.at(path, `secret file ${file} ${why} (referenced as ${match})`);
  };
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const { size } = fstatSync(fd);
    if (size > MAX_FILE_BYTES) fail(`is larger than ${MAX_FILE_BYTES} bytes`);
    // Sized reads, not readFileSync: a FIFO or device path must not be read without bound.
    const buffer = Buffer.alloc(MAX_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > MAX_FILE_BYTES) fail(`is larger than ${MAX_FILE_BYTES} bytes`);
    const text = buffer.toString('utf8', 0, length).replace(/(?:\r?\n)+$/, '');
    if (text === '') fail('is empty');
    return text;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    return fail(FILE_ERRORS[code] ?? `cannot be read (${code || (e as Error).message})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function interpolateString(value: string, env: Env, path: PropertyKey[], opts: InterpolateOptions): string {
  return value.replace(REFERENCE, (match, file: string | undefined, name: string | undefined, fallback: string | undefined) => {
    if (file !== undefined) {
      if (file.trim() === '') throw ConfigError.at(path, `${match} needs a file path, e.g. \${file:/run/secrets/jwt}`);
      return readSecretFile(resolve(opts.baseDir ?? process.cwd(), file), match, path);
    }
    if (name === undefined) return '${';
    const found = env[name];
    // `:-` follows the shell: the default also applies when the variable is set but empty.
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
    if (found === undefined) throw ConfigError.at(path, `environment variable ${name} is not set (referenced as ${match})`);
    return found;
  });
}

export function interpolateEnv(value: unknown, env: Env, path: PropertyKey[] = [], opts: InterpolateOptions = {}): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path, opts);
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, i], opts));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], opts);
    return out;
  }
  return value;
}
