/** role → connection → table → operations. Cross-checks against `connections` live in schema.ts. */
import { z } from 'zod';
import { filterSchema, presetsSchema } from './filter-schema.js';
import { IDENTIFIER, TABLE_KEY } from './identifiers.js';
import type { Columns, TablePermission } from './types.js';

const columnsSchema = z
  .union([z.literal('*'), z.array(z.string().regex(IDENTIFIER, 'must be a column name (letters, digits, _)')).min(1, 'must be "*" or a non-empty list of column names')], {
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be "*" or a non-empty list of column names'),
  })
  .superRefine((cols, ctx) => {
    if (cols === '*') return;
    cols.forEach((c, i) => {
      if (cols.indexOf(c) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `"${c}" is listed twice` });
    });
  })
  .transform((c) => c as Columns);

const referenceSchema = z.strictObject({
  table: z.string().regex(TABLE_KEY, 'must be "table" or "schema.table"'),
  column: z.string().regex(IDENTIFIER, 'must be a column name (letters, digits, _)'),
});

const tableSchema = z
  .strictObject({
    select: z.strictObject({ columns: columnsSchema, filter: filterSchema.optional() }).optional(),
    insert: z.strictObject({ columns: columnsSchema, set: presetsSchema.optional() }).optional(),
    update: z.strictObject({ columns: columnsSchema, filter: filterSchema.optional() }).optional(),
    delete: z.strictObject({ filter: filterSchema.optional() }).optional(),
    references: z.record(z.string().regex(IDENTIFIER, 'must be a column name (letters, digits, _)'), referenceSchema).optional(),
  })
  .superRefine((t, ctx) => {
    // A preset column the client may also write is a contradiction: one of the two is a mistake.
    const insertable = t.insert?.columns;
    for (const column of Object.keys(t.insert?.set ?? {})) {
      if (insertable !== undefined && insertable !== '*' && insertable.includes(column)) {
        ctx.addIssue({ code: 'custom', path: ['insert', 'set', column], message: `"${column}" is preset, so it cannot also be in insert.columns` });
      }
    }
    for (const column of Object.keys(t.references ?? {})) {
      if (Object.hasOwn(t.insert?.set ?? {}, column)) {
        ctx.addIssue({ code: 'custom', path: ['references', column], message: `"${column}" is preset (the gateway writes it), so there is nothing of the client's to check` });
      }
    }
  })
  .transform((t): TablePermission => {
    const out: TablePermission = {};
    if (t.select) out.select = { columns: t.select.columns, ...(t.select.filter && { filter: t.select.filter }) };
    if (t.insert) out.insert = { columns: t.insert.columns, ...(t.insert.set && { set: t.insert.set }) };
    if (t.update) out.update = { columns: t.update.columns, ...(t.update.filter && { filter: t.update.filter }) };
    if (t.delete) out.delete = { ...(t.delete.filter && { filter: t.delete.filter }) };
    if (t.references) out.references = t.references;
    return out;
  });

const tablesSchema = z.record(z.string().regex(TABLE_KEY, 'must be "table" or "schema.table"'), tableSchema);

export const permissionsSchema = z.record(z.string().min(1), z.record(z.string(), tablesSchema));
