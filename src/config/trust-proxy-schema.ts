/**
 * server.trustProxy: whose X-Forwarded-For decides the client address (and so the per-IP rate limit
 * and the audit log's `ip`). `false` (default): nobody's, the socket address counts. A list of
 * addresses / CIDR ranges (or `loopback`, `linklocal`, `uniquelocal`), as an array or a comma
 * string: only hops from those addresses are believed — anyone else's header is ignored. `true`:
 * everybody's, so any client that reaches the port picks its own address (warned at start-up).
 *
 * Entries are checked with the parser Fastify itself uses, so what starts is what Fastify
 * understood. Hop counts are refused: Fastify 5 treats a number as "trust nobody" (it cannot tell a
 * proxy from a client that connects directly), which would silently put every client behind the
 * proxy into the proxy's one rate-limit bucket.
 */
import proxyAddr from '@fastify/proxy-addr';
import { z } from 'zod';
import type { TrustProxy } from './types.js';

const HOP_COUNT = 'a hop count cannot tell your proxy from a client that connects directly; list the proxies\' addresses or CIDR ranges instead (e.g. "10.0.0.0/8")';

function normalize(value: unknown, ctx: z.RefinementCtx): TrustProxy {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  if (typeof value === 'number' || (typeof value === 'string' && /^\s*\d+\s*$/.test(value))) {
    ctx.addIssue({ code: 'custom', message: HOP_COUNT });
    return z.NEVER;
  }
  const list = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  if (!Array.isArray(list) || !list.every((entry): entry is string => typeof entry === 'string')) {
    ctx.addIssue({ code: 'custom', message: 'must be true, false, or a list of addresses / CIDR ranges (an array or a comma-separated string)' });
    return z.NEVER;
  }
  for (const [i, entry] of list.entries()) {
    try {
      proxyAddr.compile(entry);
    } catch {
      ctx.addIssue({ code: 'custom', path: typeof value === 'string' ? [] : [i], message: `"${entry}" is not an IP address, a CIDR range, or loopback / linklocal / uniquelocal` });
      return z.NEVER;
    }
  }
  return list;
}

export const trustProxySchema = z.unknown().transform(normalize);
