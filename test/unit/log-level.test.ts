import Fastify from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logsAt } from '../../src/observability/log.js';

describe('logsAt: whether a line of a level would be written', () => {
  it('follows a pino logger and its children', () => {
    const info = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }));
    expect(logsAt(info, 'info')).toBe(true);
    expect(logsAt(info, 'debug')).toBe(false);
    expect(logsAt(info.child({ reqId: 'r' }), 'info')).toBe(true);
    const debug = pino({ level: 'debug' }, pino.destination({ dest: '/dev/null', sync: true }));
    expect(logsAt(debug.child({}), 'debug')).toBe(true);
    const warn = pino({ level: 'warn' }, pino.destination({ dest: '/dev/null', sync: true }));
    expect(logsAt(warn, 'info')).toBe(false);
  });

  it("is false for Fastify's no-op logger (logging off), which writes nothing", () => {
    const off = Fastify({ logger: false }).log;
    expect(logsAt(off, 'info')).toBe(false);
    expect(logsAt(off.child({ reqId: 'r' }), 'debug')).toBe(false);
  });
});
