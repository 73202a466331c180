/** server.trustProxy and limits.maxJsonDepth: the forms accepted, and what is refused naming the key. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { configErrorOf, withConnection } from '../helpers/config-error.js';

const withServer = (server: Record<string, unknown>): any => ({ ...withConnection('postgres://a@b/c'), server });
const withLimits = (limits: Record<string, unknown>): any => ({ ...withConnection('postgres://a@b/c'), limits });

describe('server.trustProxy', () => {
  it.each<[string, unknown, unknown]>([
    ['absent', undefined, false],
    ['false', false, false],
    ['true', true, true],
    ['"true" (from ${VAR})', 'true', true],
    ['"false"', 'false', false],
    ['one address', '10.1.2.3', ['10.1.2.3']],
    ['a comma string of addresses and ranges', ' 10.1.2.3, 192.168.0.0/16 ,::1 ', ['10.1.2.3', '192.168.0.0/16', '::1']],
    ['an array', ['10.0.0.0/8', 'fe80::/10', '10.0.0.0/255.0.0.0'], ['10.0.0.0/8', 'fe80::/10', '10.0.0.0/255.0.0.0']],
    ['named ranges', ['loopback', 'uniquelocal', 'linklocal'], ['loopback', 'uniquelocal', 'linklocal']],
  ])('accepts %s', (_name, value, expected) => {
    const raw = value === undefined ? withServer({}) : withServer({ trustProxy: value });
    expect(parseConfig(raw).server.trustProxy).toEqual(expected);
  });

  it.each<[string, unknown, string]>([
    ['a hop count', 1, 'config error at server.trustProxy: a hop count cannot tell your proxy from a client that connects directly'],
    ['a hop count as a string', '2', 'server.trustProxy: a hop count'],
    ['zero', 0, 'server.trustProxy: a hop count'],
    ['a host name', 'proxy.internal', 'server.trustProxy: "proxy.internal" is not an IP address, a CIDR range, or loopback / linklocal / uniquelocal'],
    ['a bad range', ['10.0.0.0/33'], 'server.trustProxy[0]: "10.0.0.0/33" is not an IP address'],
    ['a bad entry after good ones', ['10.0.0.1', '::1', 'nope'], 'server.trustProxy[2]: "nope"'],
    ['an empty entry', '10.0.0.1,,10.0.0.2', 'server.trustProxy: "" is not an IP address'],
    ['an object', { cidr: '10.0.0.0/8' }, 'server.trustProxy: must be true, false, or a list of addresses'],
    ['a list with a number', ['10.0.0.1', 5], 'server.trustProxy: must be true, false, or a list of addresses'],
    ['null', null, 'server.trustProxy: must be true, false, or a list'],
  ])('refuses %s, naming the key', (_name, value, message) => {
    expect(configErrorOf(withServer({ trustProxy: value }))).toContain(message);
  });
});

describe('limits.maxJsonDepth', () => {
  it('defaults to 64 and accepts 4–512, also as a string', () => {
    expect(parseConfig(withLimits({})).limits.maxJsonDepth).toBe(64);
    expect(parseConfig(withLimits({ maxJsonDepth: 4 })).limits.maxJsonDepth).toBe(4);
    expect(parseConfig(withLimits({ maxJsonDepth: '512' })).limits.maxJsonDepth).toBe(512);
  });

  it.each([3, 513, 1.5, 'deep', -1])('refuses %s, naming the key', (value) => {
    expect(configErrorOf(withLimits({ maxJsonDepth: value }))).toContain('limits.maxJsonDepth');
  });
});
