/**
 * Connections. The dialect is derived from the URL scheme through one table, so adding MySQL or
 * SQLite later is a new row here plus a new variant of ConnectionConfig, not new branches elsewhere.
 */
import { z } from 'zod';
import { int } from './coerce.js';
import { IDENTIFIER } from './identifiers.js';
import type { ConnectionConfig } from './types.js';

export type Dialect = ConnectionConfig['dialect'];

export const DIALECT_BY_PROTOCOL: Readonly<Record<string, Dialect>> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
};

const DIALECTS = [...new Set(Object.values(DIALECT_BY_PROTOCOL))] as [Dialect, ...Dialect[]];

function dialectOf(url: string): Dialect | undefined {
  try {
    return DIALECT_BY_PROTOCOL[new URL(url).protocol];
  } catch {
    return undefined;
  }
}

const objectSchema = z
  .strictObject({
    // Accepted so a normalized config can be parsed again; must agree with the URL.
    dialect: z.enum(DIALECTS).optional(),
    url: z.string(),
    max: int(1, 1000).default(10),
    dbRole: z.string().regex(IDENTIFIER, 'must be a database role name (letters, digits, _)').optional(),
    schema: z.string().regex(IDENTIFIER, 'must be a schema name (letters, digits, _)').default('public'),
    idleTimeoutMs: int(0).default(0),
    connectionTimeoutMs: int(1).default(5000),
  })
  .superRefine((c, ctx) => {
    const dialect = dialectOf(c.url);
    // The URL is never echoed: it usually carries a password.
    if (!dialect) {
      const schemes = Object.keys(DIALECT_BY_PROTOCOL).map((p) => `${p}//`).join(' or ');
      ctx.addIssue({ code: 'custom', path: ['url'], message: `must be a ${schemes} URL` });
    } else if (c.dialect !== undefined && c.dialect !== dialect) {
      ctx.addIssue({ code: 'custom', path: ['dialect'], message: `"${c.dialect}" does not match the URL (a ${dialect} URL)` });
    }
  });

/** A bare string is shorthand for `{ url }`. */
export const connectionSchema = z
  .preprocess((v) => (typeof v === 'string' ? { url: v } : v), objectSchema)
  .transform((c): ConnectionConfig => {
    // Only postgres URLs pass the refinement above until other dialects get their rows.
    const out: ConnectionConfig = {
      dialect: 'postgres',
      url: c.url,
      max: c.max,
      schema: c.schema,
      idleTimeoutMs: c.idleTimeoutMs,
      connectionTimeoutMs: c.connectionTimeoutMs,
    };
    if (c.dbRole !== undefined && out.dialect === 'postgres') out.dbRole = c.dbRole;
    return out;
  });
