import type { QueryMethod } from '../../pool/messages.js';

/** What Drizzle's pg-proxy callback sends, plus an optional connection name. */
export interface DataBody {
  sql: string;
  params?: unknown[];
  method?: QueryMethod;
  typings?: string[];
  connection?: string;
}

export const dataBodySchema = {
  type: 'object',
  required: ['sql'],
  additionalProperties: false,
  properties: {
    sql: { type: 'string', minLength: 1 },
    params: { type: 'array' },
    method: { type: 'string', enum: ['all', 'execute'], default: 'all' },
    typings: { type: 'array', items: { type: 'string' } },
    connection: { type: 'string', minLength: 1 },
  },
} as const;
