import { QUERY_METHODS, type QueryMethod } from '../../pool/messages.js';

/** What Drizzle's pg-proxy callback sends, plus an optional connection name. */
export interface BatchBodyStatement {
  sql: string;
  params?: unknown[];
  method?: QueryMethod;
  typings?: string[];
}

/** Statements in one transaction, all or nothing (what Drizzle's proxy batch callback sends). */
export const MAX_BATCH_STATEMENTS = 1000;

export interface DataBody {
  /** Exactly one of `sql` and `batch`. */
  sql?: string;
  batch?: BatchBodyStatement[];
  params?: unknown[];
  method?: QueryMethod;
  typings?: string[];
  connection?: string;
}

export const dataBodySchema = {
  type: 'object',
  oneOf: [{ required: ['sql'] }, { required: ['batch'] }],
  additionalProperties: false,
  properties: {
    sql: { type: 'string', minLength: 1 },
    params: { type: 'array' },
    method: { type: 'string', enum: QUERY_METHODS, default: 'all' },
    typings: { type: 'array', items: { type: 'string' } },
    connection: { type: 'string', minLength: 1 },
    batch: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_BATCH_STATEMENTS,
      items: {
        type: 'object',
        required: ['sql'],
        additionalProperties: false,
        properties: {
          sql: { type: 'string', minLength: 1 },
          params: { type: 'array' },
          // The same enum as the top-level `method` (defaults are applied in code).
          method: { $ref: '#/properties/method' },
          typings: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const;
