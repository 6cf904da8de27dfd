/** Scenario 6: 100,000 per-user buckets: memory per idle key, and nothing left after expiry. */
import { runBenchWorker, type BenchContext, type Section } from '../support/context';
import { num, table } from '../support/stats';
import { verdict } from '../support/summary';
import type { MemoryByLimit } from '../workers/memory-by-limit.worker';

/** The limits at which one full limit's memory is measured (issue 19: the sliding window's layout). */
const LIMITS = [10, 100, 1_000, 10_000];

interface Result {
  fillMs: number;
  dbsize: number;
  bytesPerLimit: number;
  bytesPerKey: number;
  persistent: number;
  ttlMs?: number;
  remaining?: Array<[number, number]>;
  leftAfterExpiry?: number;
  zeroAfterMs?: number | null;
}

export async function manyKeys(ctx: BenchContext): Promise<Section> {
  const keys = ctx.quick ? 10_000 : 100_000;
  const capacity = 10;
  const refillMs = 1000;
  ctx.log(`many keys: ${keys} limits per library`);
  const results = await runBenchWorker<Record<string, Result>>(
    'many-keys.worker.ts',
    { url: ctx.url, keys, capacity, refillMs, expiryGraceMs: 30_000 },
    600_000,
  );
  ctx.log(`many keys: memory of one full limit at limits ${LIMITS.join(', ')}`);
  const byLimit = await runBenchWorker<MemoryByLimit[]>(
    'memory-by-limit.worker.ts',
    { url: ctx.url, limits: LIMITS },
    600_000,
  );
  const byLimitRows = byLimit.map((r) => [
    r.kind,
    ...r.bytes.map((bytes, i) => `${num(bytes, 0)}${r.keys[i] === 1 ? '' : ` (${r.keys[i]} keys)`}`),
  ]);
  const rows = Object.entries(results).map(([name, r]) => [
    name,
    num(r.dbsize, 0),
    num(r.bytesPerLimit, 0),
    num(r.bytesPerKey, 0),
    String(r.persistent),
    num(keys / (r.fillMs / 1000), 0),
  ]);
  const ours = results['nestjs-limiters'];
  const markdown = [
    `${num(keys, 0)} per-user limits per library, one call each (ours: TokenBucketLimiter capacity ${capacity}, ` +
      `1 token / ${refillMs} ms, each bucket emptied with tryTake(${capacity}); rate-limiter-flexible ${capacity} points / ` +
      `${(capacity * refillMs) / 1000} s; throttler storage limit ${capacity}, ttl ${capacity * refillMs} ms), ` +
      `${1000} calls in flight at a time on one connection. Memory = INFO memory used_memory after − before, on an ` +
      'otherwise empty redis-server.',
    '',
    table(
      ['library', 'keys in Redis', 'bytes per limit', 'bytes per key', 'keys without TTL', 'limits made per s'],
      rows,
    ),
    '',
    `**Expiry (ours)**: every bucket key should be gone ${num(ours.ttlMs ?? NaN, 0)} ms after its call (full again + one period). ` +
      `Keys left after waiting up to 30 s past that: **${ours.leftAfterExpiry}** ` +
      (ours.zeroAfterMs
        ? `(keyspace empty ${num(ours.zeroAfterMs / 1000, 1)} s after the first bucket was made).`
        : '.'),
    '',
    '**Memory of one full limit, by its limit** (bytes: MEMORY USAGE … SAMPLES 0 of each of its keys, summed; each ' +
      'limit made with limit or capacity n and taken n times, one token a call, in ten batches a tenth of its 10 s window ' +
      'apart: a sliding window holds them spread as a steady caller spreads them)',
    '',
    table(['limit', ...LIMITS.map((n) => `n = ${num(n, 0)}`)], byLimitRows),
  ].join('\n');
  const peers = Object.entries(results).filter(([name]) => name !== 'nestjs-limiters');
  const summary = {
    scenario: '6. many keys',
    target: 'no keys left after expiry',
    result:
      `${verdict(ours.leftAfterExpiry === 0)}: ${ours.leftAfterExpiry} left; ${num(ours.bytesPerKey, 0)} B per key ` +
      `vs ${peers.map(([name, r]) => `${name} ${num(r.bytesPerKey, 0)}`).join(', ')}`,
  };
  return {
    id: 'many-keys',
    title: '6. Many keys: memory and expiry',
    markdown,
    summary,
    data: { keys: results, byLimit },
  };
}
