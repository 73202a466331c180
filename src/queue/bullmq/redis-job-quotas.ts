/**
 * The quotas of job-quotas.ts in queue mode, kept in Redis so every API instance counts the same
 * jobs: one sorted set per owner, per tenant and in all (names.ts), member `<connection>/<job id>`,
 * score = when the job's result expires (epoch ms), or UNFINISHED + its submission time while it is
 * queued or running. Admission is one script: drop expired members, check each bound, add to all.
 *
 * A job's score moves from unfinished to its expiry when the worker that ran it reports it
 * finished (`finished`, from the BullMQ Worker's completed/failed events: finishedOn + resultTtlMs)
 * or when a front cancels it while it waits (the tombstone's lifetime). If that is lost — a process
 * dying in between, Redis blinking — a full bound checks its oldest unfinished members against
 * BullMQ before refusing (at most every RECONCILE_EVERY_MS per bound), so a lost update can delay a
 * slot but never hold it forever. A set whose jobs have all finished expires with its last result.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SluiceConfig } from '../../config/types.js';
import type { ErrorBody } from '../../errors.js';
import type { JobOwner } from '../async-jobs.js';
import { ownerKey, quotaLimits, quotaRefusal, type QuotaScope } from '../job-quotas.js';
import { jobQuotaKey } from './names.js';

/** Above every epoch-ms expiry for 30 000 years, and + any epoch ms still exact as a double. */
const UNFINISHED = 1e15;
/** Unfinished members younger than this are not reconciled: their job may not be added yet. */
const RECONCILE_AGE_MS = 30_000;
const RECONCILE_EVERY_MS = 10_000;
const RECONCILE_MAX = 200;

/** KEYS: the bounds in QUOTA_SCOPES order; ARGV: now, member, score, then each key's limit. */
const ADMIT = `
local now = tonumber(ARGV[1])
for i = 1, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now) end
for i = 1, #KEYS do
  if redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[3 + i]) then
    local first = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {i, first[2]}
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[3], ARGV[2])
  redis.call('PERSIST', KEYS[i])
end
return {0}`;

/**
 * KEYS: sets holding the member; ARGV: member, score (or "remove"). A set left with finished jobs
 * only expires with its last result, so owners who never come back leave nothing behind.
 */
const SETTLE = `
for i = 1, #KEYS do
  if ARGV[2] == 'remove' then
    redis.call('ZREM', KEYS[i], ARGV[1])
  else
    redis.call('ZADD', KEYS[i], 'XX', ARGV[2], ARGV[1])
  end
  if redis.call('ZCOUNT', KEYS[i], '${UNFINISHED}', '+inf') == 0 then
    local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    if last[2] then redis.call('PEXPIREAT', KEYS[i], math.ceil(tonumber(last[2]))) end
  end
end
return 0`;

/** What reconciling learns of a member's job: still stored and unfinished, expiring at, or gone. */
export type StoredJobState = { state: 'live' } | { state: 'expires'; at: number } | { state: 'gone' };

export interface RedisJobQuotas {
  /** Reserves the job's place in every bound, or answers the refusal. Redis errors reject. */
  admit(owner: JobOwner, connection: string, id: string): Promise<ErrorBody | undefined>;
  /** The job finished (or was cancelled while waiting): it counts until `expiresAt`. */
  expiresAt(owner: JobOwner, connection: string, id: string, at: number): Promise<void>;
  /** The job was never stored after all (its add failed). */
  release(owner: JobOwner, connection: string, id: string): Promise<void>;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

interface Bound {
  scope: QuotaScope;
  key: string;
  /** Marker spacing out reconciles of this set. */
  reconciled: string;
}

function boundsOf(prefix: string, owner: JobOwner): Bound[] {
  const ids: Array<[QuotaScope, string]> = [['user', hash(ownerKey(owner))]];
  if (owner.tenant !== null) ids.push(['tenant', hash(owner.tenant)]);
  ids.push(['total', '']);
  return ids.map(([scope, id]) => ({ scope, key: jobQuotaKey(prefix, scope, id), reconciled: jobQuotaKey(prefix, scope, id, 'reconciled') }));
}

const memberOf = (connection: string, id: string): string => `${connection}/${id}`;

/**
 * `inspect` answers for a member's job (fronts only: workers never refuse, so never reconcile).
 * `now` is injectable for tests.
 */
export function createRedisJobQuotas(
  client: Redis,
  config: Readonly<SluiceConfig>,
  inspect?: (connection: string, id: string) => Promise<StoredJobState>,
  now: () => number = Date.now,
): RedisJobQuotas {
  const { prefix, resultTtlMs } = config.queue;
  const limits = quotaLimits(config);

  async function settle(keys: string[], member: string, score: number | 'remove'): Promise<void> {
    await client.eval(SETTLE, keys.length, ...keys, member, String(score));
  }

  async function tryAdmit(bounds: Bound[], member: string): Promise<{ full: Bound; lowest: number } | undefined> {
    const t = now();
    const args = [String(t), member, String(UNFINISHED + t), ...bounds.map((b) => String(limits[b.scope]))];
    const [index, lowest] = (await client.eval(ADMIT, bounds.length, ...bounds.map((b) => b.key), ...args)) as [number, string?];
    return index === 0 ? undefined : { full: bounds[index - 1]!, lowest: Number(lowest) };
  }

  /** Moves the oldest unfinished members of `key` whose job has finished or gone; true when any moved. */
  async function reconcile({ key, reconciled }: Bound): Promise<boolean> {
    if (!inspect) return false;
    if ((await client.set(reconciled, '1', 'PX', RECONCILE_EVERY_MS, 'NX')) === null) return false;
    const stale = await client.zrangebyscore(key, UNFINISHED, UNFINISHED + now() - RECONCILE_AGE_MS, 'LIMIT', 0, RECONCILE_MAX);
    const moved = await Promise.all(
      stale.map(async (member) => {
        const slash = member.indexOf('/');
        const found = await inspect(member.slice(0, slash), member.slice(slash + 1));
        if (found.state === 'live') return false;
        await settle([key], member, found.state === 'gone' || found.at <= now() ? 'remove' : found.at);
        return true;
      }),
    );
    return moved.includes(true);
  }

  return {
    async admit(owner, connection, id) {
      const bounds = boundsOf(prefix, owner);
      const member = memberOf(connection, id);
      let refused = await tryAdmit(bounds, member);
      if (refused && (await reconcile(refused.full))) refused = await tryAdmit(bounds, member);
      if (!refused) return undefined;
      const t = now();
      return quotaRefusal(refused.full.scope, limits, refused.lowest < UNFINISHED ? refused.lowest : t + resultTtlMs, t);
    },
    async expiresAt(owner, connection, id, at) {
      await settle(boundsOf(prefix, owner).map((b) => b.key), memberOf(connection, id), at);
    },
    async release(owner, connection, id) {
      await settle(boundsOf(prefix, owner).map((b) => b.key), memberOf(connection, id), 'remove');
    },
  };
}

