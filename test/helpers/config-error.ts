/** Config tests check what a bad key is refused with: the ConfigError's message names the key. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/schema.js';

export const CONFIG_TEST_SECRET = 'a-secret-that-is-at-least-32-chars-long';

/** The smallest raw config with `main` as its one connection (a URL string or an object). */
export const withConnection = (main: unknown): any => ({ auth: { jwt: { secret: CONFIG_TEST_SECRET, algorithms: ['HS256'] } }, connections: { main } });

/** The message parseConfig(raw) refuses `raw` with; fails the test on any other error, or if it parses. */
export function configErrorOf(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}
