/**
 * `${VAR}` and `${VAR:-default}` in string values (never keys), resolved from an explicit env
 * object so nothing reads process.env behind the caller's back. `$${` escapes a literal `${`.
 * An unset variable without a default is an error naming both the variable and the key.
 */
import { ConfigError } from './config-error.js';

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type Env = Readonly<Record<string, string | undefined>>;

function interpolateString(value: string, env: Env, path: PropertyKey[]): string {
  return value.replace(REFERENCE, (match, name: string | undefined, fallback: string | undefined) => {
    if (name === undefined) return '${';
    const found = env[name];
    // `:-` follows the shell: the default also applies when the variable is set but empty.
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
    if (found === undefined) throw ConfigError.at(path, `environment variable ${name} is not set (referenced as ${match})`);
    return found;
  });
}

export function interpolateEnv(value: unknown, env: Env, path: PropertyKey[] = []): unknown {
  if (typeof value === 'string') return interpolateString(value, env, path);
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, i]));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k]);
    return out;
  }
  return value;
}
