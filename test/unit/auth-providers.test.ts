/**
 * docs/auth-providers.md is checked here, as written: for each recipe (a `## ` section), every YAML
 * config in it is parsed by the config schema; every JSON token example is signed — with a key of
 * the recipe's algorithm served from a local JWKS endpoint in place of the provider's (same path),
 * or with the shared secret a config names — and goes through sluice's own verifier and principal
 * code; the principal must be the one the `text` block after the token says, and every claim the
 * recipe's permissions name must resolve. The same token with another issuer or audience is refused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { toPrincipal } from '../../src/auth/principal.js';
import { createVerifier } from '../../src/auth/verifier.js';
import { interpolateEnv } from '../../src/config/interpolate.js';
import { parseConfig } from '../../src/config/schema.js';
import type { Filter, FilterValue, SluiceConfig } from '../../src/config/types.js';
import { claimRef, resolveClaim } from '../../src/permissions/claims.js';
import { sluiceCodeOf as refusal } from '../helpers/sluice-code.js';

const DOC = readFileSync(new URL('../../docs/auth-providers.md', import.meta.url), 'utf8');
const ENV = { DATABASE_URL: 'postgres://app@127.0.0.1:5432/app', SUPABASE_JWT_SECRET: 'a-supabase-legacy-jwt-secret-of-40-chars!' };
const RECIPES = ['Supabase', 'Auth0', 'Clerk', 'Generic OIDC'];

interface Recipe {
  title: string;
  configs: Record<string, unknown>[];
  tokens: Array<{ payload: Record<string, unknown>; expected: Record<string, string> }>;
}

function blocks(section: string): Array<{ lang: string; text: string }> {
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

/** `role: x` lines → { role: 'x' }. */
function expectation(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]));
}

function recipes(): Recipe[] {
  return DOC.split(/^## /m).slice(1).flatMap((section) => {
    const title = section.slice(0, section.indexOf('\n')).trim();
    const bs = blocks(section);
    const configs = bs.filter((b) => b.lang === 'yaml').map((b) => parseYaml(b.text) as Record<string, unknown>);
    const json = bs.filter((b) => b.lang === 'json');
    const texts = bs.filter((b) => b.lang === 'text');
    if (configs.length === 0) return [];
    expect(texts.length, `${title}: one "text" block (the principal) after each token example`).toBe(json.length);
    const tokens = json.map((b, i) => ({ payload: JSON.parse(b.text) as Record<string, unknown>, expected: expectation(texts[i]!.text) }));
    return [{ title, configs, tokens }];
  });
}

/** A local JWKS endpoint standing in for the provider's: it serves keys at whatever path is asked. */
let server: Server;
let origin: string;
let keys: JWK[] = [];
const requested: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requested.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

type Signer = (payload: Record<string, unknown>) => Promise<string>;

/** The config as the recipe writes it, its JWKS URL moved to the local endpoint (same path), and a signer to match. */
async function prepare(raw: Record<string, unknown>, base: Record<string, unknown>): Promise<{ config: Readonly<SluiceConfig>; sign: Signer; jwksPath?: string }> {
  // A snippet that shows only `auth` (a variant) takes the rest from the recipe's first config.
  const merged = interpolateEnv({ ...base, ...raw }, ENV) as { auth: { jwt: Record<string, unknown> } };
  const jwt = merged.auth.jwt;
  const alg = (jwt.algorithms as string[])[0]!;
  const now = (): number => Math.floor(Date.now() / 1000);
  if (typeof jwt.secret === 'string') {
    const secret = new TextEncoder().encode(jwt.secret);
    return { config: parseConfig(merged), sign: (p) => new SignJWT({ ...p, iat: now(), exp: now() + 3600 }).setProtectedHeader({ alg, typ: 'JWT' }).sign(secret) };
  }
  const url = new URL(jwt.jwksUrl as string);
  expect(url.protocol).toBe('https:');
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `kid-${alg}-${keys.length}`;
  keys = [...keys, { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }];
  const config = parseConfig({ ...merged, auth: { ...merged.auth, jwt: { ...jwt, jwksUrl: `${origin}${url.pathname}` } } });
  const sign: Signer = (p) => new SignJWT({ ...p, iat: now(), exp: now() + 3600, ...(p.nbf !== undefined && { nbf: now() - 5 }) }).setProtectedHeader({ alg, kid, typ: 'JWT' }).sign(privateKey);
  return { config, sign, jwksPath: url.pathname };
}

/** Every `$claims.…` a recipe's permissions name. */
function claimRefs(config: Readonly<SluiceConfig>): string[] {
  const refs = new Set<string>();
  const value = (v: unknown): void => {
    const ref = typeof v === 'string' ? claimRef(v as FilterValue) : null;
    if (ref !== null) refs.add(ref);
  };
  const walk = (f: Filter | undefined): void => {
    for (const [k, v] of Object.entries(f ?? {})) {
      if ((k === 'and' || k === 'or') && Array.isArray(v)) (v as Filter[]).forEach(walk);
      else if (typeof v === 'object' && v !== null) Object.values(v).flat().forEach(value);
      else value(v);
    }
  };
  for (const byConnection of Object.values(config.permissions)) {
    for (const tables of Object.values(byConnection)) {
      for (const t of Object.values(tables)) {
        walk(t.select?.filter);
        walk(t.update?.filter);
        walk(t.delete?.filter);
        Object.values(t.insert?.set ?? {}).forEach(value);
      }
    }
  }
  return [...refs];
}

const all = recipes();

it('docs/auth-providers.md has a checked recipe for each provider', () => {
  expect(all.map((r) => r.title)).toEqual(RECIPES);
  for (const r of all) expect(r.tokens.length, r.title).toBeGreaterThan(0);
});

describe.each(all.map((r) => [r.title, r] as const))('%s recipe', (_title, recipe) => {
  recipe.configs.forEach((raw, i) => {
    const variant = i === 0 ? 'its config' : `config variant ${i + 1}`;

    it(`${variant}: each token example verifies and reads as the recipe says`, async () => {
      const { config, sign, jwksPath } = await prepare(raw, recipe.configs[0]!);
      const verifier = createVerifier(config.auth.jwt);
      const refs = claimRefs(config);
      expect(refs.length, 'the recipe shows a permission that reads the tenant claim').toBeGreaterThan(0);
      for (const { payload, expected } of recipe.tokens) {
        const verified = await verifier.verify(await sign(payload));
        const principal = toPrincipal(verified as Record<string, unknown>, config.auth.claims, config.auth.defaultRole);
        expect({ role: principal.role, tenant: String(principal.tenant), user: principal.user }).toEqual(expected);
        for (const ref of refs) expect(() => resolveClaim(principal.claims, ref), ref).not.toThrow();
      }
      if (jwksPath !== undefined) expect(requested).toContain(jwksPath);
    });

    it(`${variant}: the same token for another issuer or audience is refused`, async () => {
      const { config, sign } = await prepare(raw, recipe.configs[0]!);
      const verifier = createVerifier(config.auth.jwt);
      const { payload } = recipe.tokens[0]!;
      expect(await refusal(verifier.verify(await sign({ ...payload, iss: 'https://attacker.example/' })))).toBe('TOKEN_INVALID');
      const { iss: _iss, ...noIssuer } = payload;
      expect(await refusal(verifier.verify(await sign(noIssuer)))).toBe('TOKEN_INVALID');
      if (config.auth.jwt.audience !== undefined) {
        expect(await refusal(verifier.verify(await sign({ ...payload, aud: 'another-app' })))).toBe('TOKEN_INVALID');
      }
    });
  });
});
