/** Read a config file (JSON, or YAML for .yaml/.yml), interpolate env vars and secret files, validate. */
import { readFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from './config-error.js';
import { interpolateEnv, type Env } from './interpolate.js';
import { parseConfig } from './schema.js';
import type { SluiceConfig } from './types.js';

function parseText(text: string, path: string): unknown {
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.yaml' || ext === '.yml') return parseYaml(text);
    if (ext === '.json') return JSON.parse(text);
  } catch (e) {
    throw new ConfigError([{ path: '', message: `${path} is not valid ${ext === '.json' ? 'JSON' : 'YAML'}: ${(e as Error).message}` }]);
  }
  throw new ConfigError([{ path: '', message: `${path}: use a .json, .yaml or .yml file` }]);
}

/** Synchronous on purpose: it runs once at boot, before anything else can usefully happen. */
export function loadConfigFile(path: string, env: Env = process.env): Readonly<SluiceConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` }]);
  }
  // `${file:secrets/jwt}` is relative to the config file, not to wherever the process was started.
  return parseConfig(interpolateEnv(parseText(text, path), env, [], { baseDir: dirname(path) }));
}
