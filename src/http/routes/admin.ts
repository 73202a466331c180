/**
 * POST /admin/reload: re-read the config source and apply it (see Engine.reload). Exists only when
 * server.adminToken is set; the caller sends it as a bearer token (compared in constant time).
 * SIGHUP does the same without HTTP.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { ConfigError } from '../../config/config-error.js';
import { SluiceError } from '../../errors.js';

export interface AdminRouteOptions {
  token: string;
  reload(): Promise<{ generation: number }>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export const adminRoutes: FastifyPluginAsync<AdminRouteOptions> = async (app, { token, reload }) => {
  const expected = digest(token);
  app.post('/admin/reload', async (request) => {
    const header = request.headers.authorization;
    if (header === undefined) throw new SluiceError('TOKEN_MISSING');
    const given = /^Bearer (.+)$/i.exec(header)?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) throw new SluiceError('TOKEN_INVALID');
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
};
