/** GET /openapi.json: the description of this gateway's HTTP API (openapi/document.ts), built once. */
import type { FastifyPluginAsync } from 'fastify';
import { openApiDocument, type OpenApiOptions } from '../openapi/document.js';

export const openApiRoute: FastifyPluginAsync<OpenApiOptions> = async (app, options) => {
  const text = JSON.stringify(openApiDocument(options));
  app.get('/openapi.json', async (_request, reply) => reply.header('cache-control', 'no-cache').type('application/json; charset=utf-8').send(text));
};
