/**
 * /admin: the operator's side, which exists only when server.adminToken is set (otherwise every
 * path here is a 404). Every hook is registered inside this plugin, so it applies to /admin only.
 *   GET  /admin                 the console page (no data in it; it asks for the token)
 *   GET  /admin/api/state       the console's JSON (observability/console-state.ts)
 *   POST /admin/api/board-session  a board pass cookie for /admin/queues (queue mode)
 *   GET  /admin/queues/…        the BullMQ queues through bull-board, read-only (queue mode)
 *   POST /admin/reload          re-read the config source and apply it (see Engine.reload); SIGHUP does the same
 * Authentication: admin-auth.ts. None of these routes belongs to the public API (OpenAPI leaves them out).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Queue } from 'bullmq';
import { ConfigError } from '../../config/config-error.js';
import { SluiceError } from '../../errors.js';
import { consoleState, type ConsoleSources } from '../../observability/console-state.js';
import { BOARD_PATH, createAdminAuth } from '../admin/admin-auth.js';
import { CONSOLE_CSP, CONSOLE_HTML } from '../admin/console-page.js';
import { queueBoard } from '../admin/queue-board.js';

export interface AdminRouteOptions {
  token: string;
  reload?: (() => Promise<{ generation: number }>) | undefined;
  /** What the console shows. */
  sources: Omit<ConsoleSources, 'boardPath'>;
  /** The BullMQ queues to show on the board (queue mode); absent or empty: no board. */
  boardQueues?: readonly Queue[] | undefined;
}

export const adminRoutes: FastifyPluginAsync<AdminRouteOptions> = async (app, { token, reload, sources, boardQueues }) => {
  const auth = createAdminAuth(token);
  const board = boardQueues !== undefined && boardQueues.length > 0;
  const state: ConsoleSources = { ...sources, ...(board && { boardPath: `${BOARD_PATH}/` }) };

  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
  });

  const page = async (_request: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .header('content-security-policy', CONSOLE_CSP)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8')
      .send(CONSOLE_HTML);
  app.get('/admin', page);
  app.get('/admin/', page);

  app.get('/admin/api/state', async (request) => {
    auth.requireBearer(request);
    return consoleState(state);
  });

  if (board) {
    app.post('/admin/api/board-session', async (request, reply) => {
      auth.requireBearer(request);
      auth.issueBoardPass(request, reply);
      return { board: `${BOARD_PATH}/` };
    });
    await app.register(queueBoard, { auth, queues: boardQueues });
  }

  if (reload) {
    app.post('/admin/reload', async (request) => {
      auth.requireBearer(request);
      try {
        const { generation } = await reload();
        request.log.info({ generation }, 'config reloaded through /admin/reload');
        return { reloaded: true, generation };
      } catch (e) {
        // Key paths and rules only: ConfigError messages never echo values (URLs carry passwords).
        if (e instanceof ConfigError) throw new SluiceError('CONFIG_INVALID', e.message);
        throw e;
      }
    });
  }
};
