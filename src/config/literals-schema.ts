/**
 * `sql.literals`: a mode for every connection and role (`literals: refuse-strings`), or
 * `{ default, connections: { name: mode }, roles: { role: mode } }`; normalized to the object
 * form. Connection and role names are cross-checked in schema.ts.
 */
import { z } from 'zod';
import type { LiteralsConfig } from './types.js';

const MODES = ['allow', 'refuse-strings', 'refuse'] as const;

const mode = z.enum(MODES, { error: () => `must be one of ${MODES.join(', ')}` });

export const literalsSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { default: v } : v),
  z
    .strictObject({
      default: mode.default('allow'),
      connections: z.record(z.string(), mode).default({}),
      roles: z.record(z.string(), mode).default({}),
    })
    .transform((l): LiteralsConfig => l),
);
