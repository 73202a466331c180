/**
 * The application/json body parser: Fastify's own (secure-json-parse, __proto__ and constructor
 * keys refused), then a depth bound. JSON.parse itself is iterative in V8, but the parsed body goes
 * on to structured clone (worker threads), JSON.stringify (BullMQ, pg) and the drivers, which
 * recurse once per level: `params: [[[[…10 000 levels…]]]]` in a 20 KB body used to overflow the
 * stack there and come back as a 503 WORKER_LOST. It is refused here with a 400 instead, on every
 * route that takes a JSON body (/data, /jobs, batches alike).
 */
import type { FastifyInstance } from 'fastify';
import { SluiceError } from '../errors.js';
import { exceedsJsonDepth } from '../json-depth.js';

export function registerJsonBody(app: FastifyInstance, maxJsonDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body, (err, value) => {
      if (err) return done(err, undefined);
      if (exceedsJsonDepth(value, maxJsonDepth)) {
        return done(new SluiceError('JSON_TOO_DEEP', `The request body nests deeper than limits.maxJsonDepth (${maxJsonDepth})`), undefined);
      }
      done(null, value);
    });
  });
}
