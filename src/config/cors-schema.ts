/**
 * server.cors: which browser origins may call the API. Absent (default): no CORS headers at all, so
 * browsers refuse cross-origin calls. Origins are compared exactly (scheme, host and port, as the
 * browser sends them in `Origin`); "*" allows any origin but cannot be combined with credentials.
 */
import { z } from 'zod';
import { bool, int } from './coerce.js';

/** What a browser sends as Origin: scheme://host[:port], no path, no trailing slash. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

export const corsSchema = z
  .strictObject({
    origins: z
      .array(z.string().refine((o) => o === '*' || ORIGIN.test(o), 'must be an origin as browsers send it (e.g. "https://app.example.com" or "http://localhost:3000": no path, no trailing slash) or "*"'))
      .min(1),
    /** Access-Control-Allow-Credentials: cookies or HTTP auth sent by the browser itself. */
    credentials: bool().default(false),
    /** Seconds a browser may cache a preflight answer. */
    maxAge: int(0, 86_400).default(600),
  })
  .refine((c) => !(c.credentials && c.origins.includes('*')), { message: 'origins "*" cannot be combined with credentials: true (browsers refuse it); list the origins', path: ['origins'] });
