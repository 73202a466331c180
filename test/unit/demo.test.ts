import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { redactUrl } from '../../src/demo/setup.js';

describe('demo', () => {
  it('builds a valid config with a fresh secret per run', () => {
    const a = parseConfig(demoConfig('postgres://postgres@127.0.0.1:5432/test', 8080));
    const b = parseConfig(demoConfig('postgres://postgres@127.0.0.1:5432/test', 8080));
    expect(a.connections.main!.schema).toBe('sluice_demo');
    expect(a.auth.jwt.secret).not.toBe(b.auth.jwt.secret);
    expect(Object.keys(a.permissions.member!.main!)).toEqual(['customers', 'orders']);
  });

  it('never prints a database password', () => {
    expect(redactUrl('postgres://u:hunter2@h:5432/d')).toBe('postgres://u:***@h:5432/d');
  });
});
