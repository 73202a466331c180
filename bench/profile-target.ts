/**
 * Starts sluice (Postgres, the bench's config) and prints its URL and a token, for profiling the
 * HTTP thread under load from another process:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-target.ts
 *   npx autocannon -c 32 -d 8 -m POST -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -b '<body>' $URL/data
 * It stops (writing the profile) after PROFILE_SECONDS (default 20).
 */
import { createEngine } from '../src/engine.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken } from '../test/helpers/tokens.js';
import { PER_THREAD, THREADS } from './load.js';

async function main(): Promise<void> {
  const fixture = await createPgFixture();
  const engine = createEngine(testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } }), { logger: false });
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
    console.log(JSON.stringify({ url, token }));
    await new Promise((r) => setTimeout(r, Number(process.env.PROFILE_SECONDS ?? 20) * 1000));
  } finally {
    await engine.close();
    await fixture.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
