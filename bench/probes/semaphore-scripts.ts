/**
 * What an uncontended acquire + release costs Redis, piece by piece (bench/probes/README.md,
 * "The semaphore's scripts, piece by piece").
 *
 *   node --import tsx bench/probes/semaphore-scripts.ts [--before <git revision>] [--only <text>] [--rounds 7]
 *
 * On a throwaway redis-server of its own (127.0.0.1, a free port), each variant runs as
 * 5,000 acquire+release pairs in one pipeline, so that the network's share per call is
 * spread thin; the figure is redis-server's main-thread CPU (INFO cpu) per pair, the least
 * of 7 rounds, because on a shared machine noise only ever adds. Commands per pair are
 * INFO stats total_commands_processed (a script and each command it calls count one).
 *
 * Variants: our scripts as they are in lua/ and as they were at `--before` (default 1ad1f66,
 * inlined from that revision's own includes), redis-semaphore's acquire script plus its
 * plain ZREM, and a build-up of the uncontended path one command at a time (each row adds
 * one piece to the row above, so the difference between rows is that piece's cost in
 * place). Every variant gets the same 5 keys and the same arguments as our scripts, so
 * the EVALSHA floor row carries the cost of passing them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { withIncludes } from '../../lib/store/redis/lua-scripts';
import { startRedis, stopAll } from '../../test/harness/redis-servers';
import { parseInfo } from '../support/redis-info';

function argValue(flag: string, fallback: string): string {
  const at = process.argv.indexOf(flag);
  return at > 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback;
}

const PAIRS = 5_000;
// `--rounds n` for more on a busy machine; the figures in bench/probes/README.md use 7.
const ROUNDS = Number(argValue('--rounds', '7'));
const REPO = join(__dirname, '..', '..');
const KEYS = ['holders', 'queue', 'waiters', 'arrivals', 'weights'].map((k) => `{probe}:${k}`);
// lua/semaphore-acquire-5.lua: one permit of capacity 10, 30 s lease, never queued.
const ACQUIRE_ARGS = ['probe-id', 10, 30_000, 0, 'none', 1, 'p'];
const RELEASE_ARGS = ['probe-id', 10, 1];

export interface Pair {
  name: string;
  acquire: string;
  release: string;
  /** Extra arguments to each call; a function runs per call (redis-semaphore's client clock). */
  acquireCall?: (redis: PipelineLike, sha: string) => void;
  releaseCall?: (redis: PipelineLike, sha: string) => void;
}

type PipelineLike = ReturnType<Redis['pipeline']>;

/** The acquire and release scripts of lua/ in the working tree, or of a git revision. */
export function ourScripts(revision?: string): { acquire: string; release: string; label: string } {
  let dir = join(REPO, 'lua');
  let scratch: string | undefined;
  if (revision) {
    scratch = mkdtempSync(join(tmpdir(), 'probe-lua-'));
    execFileSync('sh', ['-c', `git -C "${REPO}" archive "${revision}" lua | tar -x -C "${scratch}"`]);
    dir = join(scratch, 'lua');
  }
  const files = execFileSync('ls', [dir]).toString().split('\n');
  const pick = (prefix: string) => {
    const file = files.find((f) => f.startsWith(prefix) && f.endsWith('.lua'))!;
    return withIncludes(readFileSync(join(dir, file), 'utf8'), file, join(dir, 'includes'));
  };
  const scripts = { acquire: pick('semaphore-acquire-'), release: pick('semaphore-release-') };
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  return { ...scripts, label: revision ? `our scripts at ${revision}` : 'our scripts (working tree)' };
}

// The uncontended path, built up a piece at a time. Each snippet is Lua placed before the reply.
const NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + (t[2] - t[2] % 1000) / 1000";
const buildUp: Array<{ piece: string; acquire: string; release: string; reply?: string }> = [
  { piece: 'TIME (server clock), ms by VM arithmetic', acquire: NOW, release: '' },
  { piece: 'ZCARD holders', acquire: "local held = redis.call('ZCARD', KEYS[1])", release: '' },
  { piece: 'ZCARD queue', acquire: "local waiting = redis.call('ZCARD', KEYS[2])", release: '' },
  {
    piece: 'ZADD holders (creates the key) / ZREM (deletes it)',
    acquire: "redis.call('ZADD', KEYS[1], now + 30000, ARGV[1])",
    release: "local removed = redis.call('ZREM', KEYS[1], ARGV[1])",
  },
  { piece: 'PEXPIRE holders', acquire: "redis.call('PEXPIRE', KEYS[1], 31000)", release: '' },
  {
    piece: 'INCR arrivals (fencing token), the reply',
    acquire: "local n = redis.call('INCR', KEYS[4])",
    release: '',
    reply: 'return n',
  },
  { piece: 'release: ZCARD queue', acquire: '', release: "local waiting = redis.call('ZCARD', KEYS[2])" },
];

function buildUpPairs(): Pair[] {
  const pairs: Pair[] = [{ name: 'EVALSHA floor: return 1, twice', acquire: 'return 1', release: 'return 1' }];
  let acquire = '';
  let release = '';
  let reply = 'return 1';
  for (const step of buildUp) {
    acquire += step.acquire ? `${step.acquire}\n` : '';
    release += step.release ? `${step.release}\n` : '';
    reply = step.reply ?? reply;
    pairs.push({ name: `+ ${step.piece}`, acquire: `${acquire}${reply}`, release: `${release}return 1` });
  }
  return pairs;
}

// Alternatives to pieces of the path, each beside the full build-up it changes.
const fullAcquire = (reads: string, rest = '', reply = 'return n') =>
  `${NOW}\n${reads}\nredis.call('ZADD', KEYS[1], now + 30000, ARGV[1])\n${rest}local n = redis.call('INCR', KEYS[4])\n${reply}`;
const TWO_ZCARDS = "local held = redis.call('ZCARD', KEYS[1])\nlocal waiting = redis.call('ZCARD', KEYS[2])";
const RELEASE =
  "local removed = redis.call('ZREM', KEYS[1], ARGV[1])\nlocal waiting = redis.call('ZCARD', KEYS[2])\nreturn removed";
const PEXPIRE = "redis.call('PEXPIRE', KEYS[1], 31000)\n";
const closures = (n: number) =>
  Array.from({ length: n }, (_, i) => `local function f${i}(a, b) return a + b + ${i} end`).join('\n');
const alternatives: Pair[] = [
  {
    name: 'alt: EXISTS queue queue holders instead of both ZCARDs',
    acquire: fullAcquire("local present = redis.call('EXISTS', KEYS[2], KEYS[2], KEYS[1])", PEXPIRE),
    release: RELEASE,
  },
  {
    name: 'alt: reply {1, lease, token} (1ad1f66) instead of the token',
    acquire: fullAcquire(TWO_ZCARDS, PEXPIRE, 'return {1, 30000, n}'),
    release: RELEASE,
  },
  { name: 'alt: full path without the PEXPIRE', acquire: fullAcquire(TWO_ZCARDS), release: RELEASE },
  {
    name: 'lua: + 12 unused local functions, each script',
    acquire: `${closures(12)}\n${fullAcquire(TWO_ZCARDS, PEXPIRE)}`,
    release: `${closures(12)}\n${RELEASE}`,
  },
  {
    name: 'lua: + tonumber() of 4 + 2 arguments',
    acquire: `local a, b, c, d = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])\n${fullAcquire(TWO_ZCARDS, PEXPIRE)}`,
    release: `local a, b = tonumber(ARGV[2]), tonumber(ARGV[3])\n${RELEASE}`,
  },
  {
    name: 'lua: + ARGV + 0 of 4 + 2 arguments',
    acquire: `local a, b, c, d = ARGV[2] + 0, ARGV[3] + 0, ARGV[4] + 0, ARGV[6] + 0\n${fullAcquire(TWO_ZCARDS, PEXPIRE)}`,
    release: `local a, b = ARGV[2] + 0, ARGV[3] + 0\n${RELEASE}`,
  },
];

// node_modules/redis-semaphore/lib/semaphore/acquire/lua.js (5.8.0), as it is; release is a plain ZREM.
const REDIS_SEMAPHORE_ACQUIRE = `
  local key = KEYS[1]
  local limit = tonumber(ARGV[1])
  local identifier = ARGV[2]
  local lockTimeout = tonumber(ARGV[3])
  local now = tonumber(ARGV[4])
  local expiredTimestamp = now - lockTimeout
  redis.call('zremrangebyscore', key, '-inf', expiredTimestamp)
  if redis.call('zcard', key) < limit then
    redis.call('zadd', key, now, identifier)
    redis.call('pexpire', key, lockTimeout)
    return 1
  else
    return 0
  end`;
// What redis-semaphore's shape costs before any work: one EVALSHA of 1 key and 4 arguments, one plain command.
const redisSemaphoreFloor: Pair = {
  name: 'redis-semaphore floor: EVALSHA return 1 (1 key, 4 arguments) + plain ZREM',
  acquire: 'return 1',
  release: '',
  acquireCall: (p, sha) => void p.evalsha(sha, 1, '{probe-rs}:sem', 10, 'probe-id', 30_000, Date.now()),
  releaseCall: (p) => void p.zrem('{probe-rs}:sem', 'probe-id'),
};
const redisSemaphore: Pair = {
  name: 'redis-semaphore: acquire script + plain ZREM',
  acquire: REDIS_SEMAPHORE_ACQUIRE,
  release: '',
  acquireCall: (p, sha) => void p.evalsha(sha, 1, '{probe-rs}:sem', 10, 'probe-id', 30_000, Date.now()),
  releaseCall: (p) => void p.zrem('{probe-rs}:sem', 'probe-id'),
};

async function mainThreadCpuUs(admin: Redis): Promise<{ cpu: number; commands: number }> {
  const cpu = parseInfo(await admin.info('cpu'));
  const stats = parseInfo(await admin.info('stats'));
  return {
    cpu: (Number(cpu.used_cpu_user_main_thread) + Number(cpu.used_cpu_sys_main_thread)) * 1e6,
    commands: Number(stats.total_commands_processed),
  };
}

/** Loads a pair's scripts; the round it returns runs PAIRS pairs in one pipeline and reads what they cost. */
async function prepare(
  redis: Redis,
  admin: Redis,
  pair: Pair,
): Promise<() => Promise<{ us: number; commands: number }>> {
  const acquireSha = (await redis.script('LOAD', pair.acquire)) as string;
  const releaseSha = pair.release ? ((await redis.script('LOAD', pair.release)) as string) : '';
  return async () => {
    const p = redis.pipeline();
    for (let i = 0; i < PAIRS; i++) {
      if (pair.acquireCall) pair.acquireCall(p, acquireSha);
      else p.evalsha(acquireSha, KEYS.length, ...KEYS, ...ACQUIRE_ARGS);
      if (pair.releaseCall) pair.releaseCall(p, releaseSha);
      else p.evalsha(releaseSha, KEYS.length, ...KEYS, ...RELEASE_ARGS);
    }
    const before = await mainThreadCpuUs(admin);
    const replies = (await p.exec())!;
    const after = await mainThreadCpuUs(admin);
    const failed = replies.find(([err]) => err);
    if (failed) throw new Error(`${pair.name}: ${String(failed[0])}`);
    // The second pair of INFO calls is counted in `after`: one INFO cpu and one INFO stats.
    return { us: (after.cpu - before.cpu) / PAIRS, commands: (after.commands - before.commands - 2) / PAIRS };
  };
}

/**
 * The least cost of each pair over ROUNDS rounds. Rounds go round-robin over the pairs, so
 * a burst of load on the machine lands on one round of every pair rather than on all
 * rounds of one.
 */
export async function probe(pairs: Pair[]): Promise<void> {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const admin = new Redis(server.url);
  try {
    const rounds = [];
    for (const pair of pairs) {
      const round = await prepare(redis, admin, pair);
      await round(); // warm-up: the arrivals counter and the scripts' first runs
      rounds.push(round);
    }
    const best = pairs.map(() => ({ us: Infinity, commands: 0 }));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [i, round] of rounds.entries()) {
        const got = await round();
        if (got.us < best[i].us) best[i] = got;
      }
    }
    console.log(
      `redis-server ${parseInfo(await admin.info('server')).redis_version}, ${PAIRS} pairs pipelined, least of ${ROUNDS} rounds`,
    );
    console.log('| variant | Redis main-thread CPU µs per acquire+release | commands |');
    console.log('| --- | --- | --- |');
    for (const [i, pair] of pairs.entries()) {
      const { us, commands } = best[i];
      const step = pair.name.startsWith('+ ')
        ? ` (${us - best[i - 1].us >= 0 ? '+' : ''}${(us - best[i - 1].us).toFixed(2)})`
        : '';
      console.log(`| ${pair.name} | ${us.toFixed(2)}${step} | ${commands.toFixed(2)} |`);
    }
  } finally {
    redis.disconnect();
    admin.disconnect();
    await stopAll([server]);
  }
}

async function main(): Promise<void> {
  const only = argValue('--only', '');
  const scripts = [ourScripts(argValue('--before', '1ad1f66')), ourScripts()];
  await probe(
    [
      ...buildUpPairs(),
      ...alternatives,
      ...scripts.map((s) => ({ name: s.label, acquire: s.acquire, release: s.release })),
      redisSemaphoreFloor,
      redisSemaphore,
    ].filter((p) => p.name.includes(only)),
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
