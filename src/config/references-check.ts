/**
 * Cross-checks of `references` (foreign keys whose referenced row must be visible to the caller):
 * the referenced table is one the same role reads on the same connection, the referenced column is
 * readable there, and every database the permissions can run on is Postgres — the check is a
 * rewritten EXISTS that only the Postgres rewriter emits (sql/postgres/reference-check.ts).
 */
import type { z } from 'zod';
import { TIER_PREFIX } from './identifiers.js';
import type { TablePermission } from './types.js';

interface Input {
  connections: Record<string, { dialect: string }>;
  permissions: Record<string, Record<string, Record<string, TablePermission>>>;
}

export function checkReferences(c: Input, ctx: z.RefinementCtx): void {
  for (const [role, byConnection] of Object.entries(c.permissions)) {
    for (const [connection, tables] of Object.entries(byConnection)) {
      for (const [key, perm] of Object.entries(tables)) {
        for (const [column, ref] of Object.entries(perm.references ?? {})) {
          const path = ['permissions', role, connection, key, 'references', column];
          // A tier's tenants may be routed to any connection (a directory table decides at run time).
          const dialects = connection.startsWith(TIER_PREFIX)
            ? Object.entries(c.connections)
            : Object.entries(c.connections).filter(([name]) => name === connection);
          const other = dialects.find(([, conn]) => conn.dialect !== 'postgres');
          if (other) {
            ctx.addIssue({ code: 'custom', path, message: `reference checks are supported on Postgres only; connection "${other[0]}" is ${other[1].dialect}` });
            continue;
          }
          const target = tables[ref.table];
          if (!target?.select) {
            ctx.addIssue({ code: 'custom', path: [...path, 'table'], message: `"${ref.table}" must be a table this role may select from on "${connection}" (written as its key there)` });
            continue;
          }
          const readable = target.select.columns;
          if (readable !== '*' && !readable.includes(ref.column)) {
            ctx.addIssue({ code: 'custom', path: [...path, 'column'], message: `"${ref.column}" must be in ${ref.table}'s select.columns for this role` });
          }
        }
      }
    }
  }
}
