import { SluiceError } from '../errors.js';

/** The token from `Authorization: Bearer <token>`; anything else is TOKEN_MISSING. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header === '') throw new SluiceError('TOKEN_MISSING');
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  if (!match) throw new SluiceError('TOKEN_MISSING', 'The Authorization header must be "Bearer <token>"');
  return match[1]!;
}
