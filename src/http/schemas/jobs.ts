/** The /jobs routes' path and query schemas (also read by the OpenAPI description). */
export const jobIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

export const jobResultQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { format: { type: 'string', enum: ['json', 'ndjson', 'csv'], default: 'json' } },
} as const;
