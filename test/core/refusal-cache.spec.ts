/**
 * The refusal cache: a bucket that refused a call knows when the tokens it asked for can
 * exist at the earliest, and refuses later calls that cannot succeed before then without
 * asking the store, with the time that is really left. It never refuses what the store
 * would admit: a call wanting fewer tokens, waiting longer, of another shape, or coming
 * after a refund goes to the store.
 */
import { InvalidOptionError, MaxSleepExceededError, TokenBucketLimiter, type TokenBucketOptions } from '../../lib';
import type { StoreOrClient } from '../../lib/store/resolve-store';
import { useOwnRedis } from '../harness/own-redis';
import { eventsOfEachTest } from '../harness/channel-events';
import { countingStore } from '../harness/counting-store';
import { startWorker } from '../harness/processes';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { storeTargets } from '../harness/store-targets';
import { median, now, sleep } from '../harness/timing';
import { Injectable } from '@nestjs/common';
import { LimitersModule, LimitersService, TokenBucket } from '../../lib';
import { useNestModules } from '../harness/nest-modules';

const HOUR = 3_600_000;

/** A store that counts the takes reaching it, and buckets of one fresh name on it. */
function bucketsCounted(target: StoreOrClient) {
  const store = countingStore(target);
  const name = uniqueName('refusals');
  const make = (options: Partial<TokenBucketOptions> = {}) =>
    new TokenBucketLimiter(store, { name, capacity: 1, refillFrequency: HOUR, ...options });
  return { store, name, make };
}

describe.each(storeTargets)('refusal cache on $name store', (target) => {
  const base = target.store();
  const refusals = eventsOfEachTest('refuse');

  it('refuses a hammered key without asking the store again, with the time left', async () => {
    const { store, name, make } = bucketsCounted(base);
    const bucket = make();
    expect((await bucket.tryTake()).allowed).toBe(true);
    const sentAt = now();
    const first = await bucket.tryTake();
    expect(first.allowed).toBe(false);
    expect(store.takes).toBe(2);

    const later = [];
    for (let i = 0; i < 100; i++) {
      const calledAt = now();
      const result = await bucket.tryTake();
      later.push({ calledAt, returnedAt: now(), result });
    }
    expect(store.takes).toBe(2);
    for (const { calledAt, returnedAt, result } of later) {
      expect(result.allowed).toBe(false);
      expect(result.remaining).toBe(0);
      // The time left of the store's answer, counted from when that request was sent
      // (the cache read its clock between calledAt and returnedAt; 1 ms for rounding up).
      expect(calledAt + result.retryAfter).toBeLessThanOrEqual(sentAt + first.retryAfter + 1);
      expect(returnedAt + result.retryAfter).toBeGreaterThanOrEqual(sentAt + first.retryAfter - 2);
      // Full again when the store said, the refills after the first token included.
      expect(result.fullIn - result.retryAfter).toBe(first.fullIn - first.retryAfter);
    }
    const ours = refusals.filter((e) => e.name === name);
    expect(ours).toHaveLength(101);
    expect(ours[0].cached).toBeUndefined();
    expect(ours.slice(1).every((e) => e.cached === true && e.reason === 'limit' && e.tokens === 1)).toBe(true);
  });

  it('ends no later than the refill the store named, then asks it again', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make({ refillFrequency: 800 });
    await bucket.take();
    const sentAt = now();
    const refused = await bucket.tryTake();
    const answeredAt = now();
    expect(refused.allowed).toBe(false);
    const earliest = sentAt + refused.retryAfter - 1;
    const latest = answeredAt + refused.retryAfter + 1;

    let admittedAt: number | undefined;
    let cachedRefusals = 0;
    while (admittedAt === undefined) {
      const calledAt = now();
      const takesBefore = store.takes;
      const result = await bucket.tryTake();
      const returnedAt = now();
      if (result.allowed) admittedAt = returnedAt;
      else if (store.takes === takesBefore) {
        cachedRefusals++;
        // What the cache says is left never reaches past the store's refill, and is the
        // rest of its wait (the cache read its clock between calledAt and returnedAt).
        expect(calledAt + result.retryAfter).toBeLessThanOrEqual(latest);
        expect(returnedAt + result.retryAfter).toBeGreaterThanOrEqual(earliest);
      }
      await sleep(5);
    }
    expect(cachedRefusals).toBeGreaterThan(20);
    // The store cannot admit before its refill; the cache let the first call after it through.
    expect(admittedAt).toBeGreaterThanOrEqual(earliest);
    expect(admittedAt).toBeLessThan(latest + 250);
  });

  it('asks the store for a call wanting fewer tokens', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make({ capacity: 3 });
    await bucket.take(2);
    expect((await bucket.tryTake(3)).allowed).toBe(false);
    expect((await bucket.tryTake(3)).allowed).toBe(false);
    expect(store.takes).toBe(2);
    expect((await bucket.tryTake(1)).allowed).toBe(true);
    expect(store.takes).toBe(3);
  });

  it('asks the store for a call of another capacity or refill', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make();
    await bucket.take();
    expect((await bucket.tryTake()).allowed).toBe(false);
    // Spent 1 leaves a capacity of 2 one token.
    expect((await make({ capacity: 2 }).tryTake()).allowed).toBe(true);
    expect(store.takes).toBe(3);
    await make({ refillFrequency: HOUR / 2 }).tryTake();
    await make({ refillAmount: 2 }).tryTake();
    expect(store.takes).toBe(5);
  });

  it('asks the store for a call that may wait as long as is left, and that call gets its tokens', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make();
    await bucket.take();
    const refused = await bucket.tryTake();
    const reservation = await bucket.reserve(1, { maxSleep: HOUR });
    expect(store.takes).toBe(3);
    expect(reservation.wait).toBeGreaterThan(0);
    expect(reservation.wait).toBeLessThanOrEqual(refused.retryAfter);
  });

  it('take() refused from the cache rejects with MaxSleepExceededError and the time left', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make({ maxSleep: 0 });
    await bucket.take();
    const fromStore = await bucket.take().catch((e: unknown) => e);
    const fromCache = await bucket.take().catch((e: unknown) => e);
    expect(store.takes).toBe(2);
    expect(fromCache).toBeInstanceOf(MaxSleepExceededError);
    expect((fromCache as MaxSleepExceededError).wouldWait).toBeLessThanOrEqual(
      (fromStore as MaxSleepExceededError).wouldWait!,
    );
    expect((fromCache as MaxSleepExceededError).wouldWait).toBeGreaterThan(HOUR - 60_000);
  });

  it('a refund clears it, through any limiter of the bucket: the next call is admitted by the store', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make();
    await bucket.take();
    await bucket.tryTake();
    expect((await bucket.tryTake()).allowed).toBe(false);
    expect(store.takes).toBe(2);
    await make({ refusalCache: false }).refund();
    expect((await bucket.tryTake()).allowed).toBe(true);
    expect(store.takes).toBe(3);
  });

  it('does not keep a refusal answered before a refund that settled first', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make();
    await bucket.take();
    let release!: () => void;
    store.holdTakes = new Promise<void>((resolve) => (release = resolve));
    const refusing = bucket.tryTake();
    await sleep(100); // the store has answered "no"; the answer is held back
    await bucket.refund();
    store.holdTakes = undefined;
    release();
    expect((await refusing).allowed).toBe(false);
    // Refused before the refund, but the token is back: the store admits, the cache must not refuse.
    expect((await bucket.tryTake()).allowed).toBe(true);
    expect(store.takes).toBe(3);
  });

  it('with refusalCache: false asks the store every time', async () => {
    const { store, make } = bucketsCounted(base);
    const bucket = make({ refusalCache: false });
    await bucket.take();
    for (let i = 0; i < 10; i++) expect((await bucket.tryTake()).allowed).toBe(false);
    expect(store.takes).toBe(11);
  });

  it('in shadow mode reports cached refusals and lets the calls through', async () => {
    const { store, name, make } = bucketsCounted(base);
    const bucket = make({ mode: 'shadow' });
    await bucket.take();
    await bucket.tryTake();
    expect((await bucket.tryTake()).allowed).toBe(true);
    expect(store.takes).toBe(2);
    expect(refusals.filter((e) => e.name === name).map((e) => [e.shadow, e.cached])).toEqual([
      [true, undefined],
      [true, true],
    ]);
  });
});

describe('option refusalCache', () => {
  const { client } = useClients(targets[0]);
  const redis = client();
  it('must be true or false, and a misspelt name is an error', () => {
    const name = uniqueName('refusals');
    expect(
      () => new TokenBucketLimiter(redis, { name, capacity: 1, refillFrequency: 10, refusalCache: 'no' as never }),
    ).toThrow(InvalidOptionError);
    expect(
      () => new TokenBucketLimiter(redis, { name, capacity: 1, refillFrequency: 10, refusalCache: 1 as never }),
    ).toThrow(/Option "refusalCache" of limiter "refusals-\w+" must be true or false; received 1/);
    expect(
      () => new TokenBucketLimiter(redis, { name, capacity: 1, refillFrequency: 10, refusalcache: true } as never),
    ).toThrow(/did you mean "refusalCache"/);
  });
});

describe('option refusalCache through the Nest module', () => {
  const modules = useNestModules();
  const refusals = eventsOfEachTest('refuse');
  const bucket = { capacity: 1, refillFrequency: HOUR, maxSleep: 0 };

  @Injectable()
  class Calls {
    @TokenBucket({ name: 'decorated-on', ...bucket, refusalCache: true })
    async turnedOn(): Promise<void> {}

    @TokenBucket({ name: 'decorated-default', ...bucket })
    async byDefault(): Promise<void> {}
  }

  /** How the refusals of `name` after the first were answered: true from the cache. */
  const cachedFlags = (name: string) => refusals.filter((e) => e.name === name).map((e) => e.cached === true);

  it('module defaults, a registered bucket and a decorator each set it', async () => {
    const module = await modules.start({
      imports: [
        LimitersModule.forRoot({
          defaults: { tokenBucket: { refusalCache: false } },
          tokenBuckets: { 'default-off': bucket, 'turned-on': { ...bucket, refusalCache: true } },
        }),
      ],
      providers: [Calls],
    });
    const limiters = module.get(LimitersService);
    for (const name of ['default-off', 'turned-on']) {
      for (let i = 0; i < 3; i++) await limiters.getTokenBucket(name).tryTake();
    }
    const calls = module.get(Calls);
    for (let i = 0; i < 3; i++) {
      await calls.turnedOn().catch(() => undefined);
      await calls.byDefault().catch(() => undefined);
    }
    expect(cachedFlags('default-off')).toEqual([false, false]);
    expect(cachedFlags('turned-on')).toEqual([false, true]);
    // The decorator's own option wins over the module default.
    expect(cachedFlags('decorated-on')).toEqual([false, true]);
    expect(cachedFlags('decorated-default')).toEqual([false, false]);
  });

  it('is on by default', async () => {
    const module = await modules.start({ imports: [LimitersModule.forRoot({ tokenBuckets: { plain: bucket } })] });
    for (let i = 0; i < 3; i++) await module.get(LimitersService).getTokenBucket('plain').tryTake();
    expect(cachedFlags('plain')).toEqual([false, true]);
  });
});

describe.each(targets)('refusal cache across processes on $name Redis', (target) => {
  it('admits every refill while several processes hammer one key, each refusing mostly from its cache', async () => {
    const name = uniqueName('hammered');
    const shape = { capacity: 2, refillFrequency: 250, refillAmount: 1 };
    const barrier = { key: uniqueName('barrier'), parties: 3 };
    const runs: Array<{ admittedAt: number[]; startedAt: number; endedAt: number; cached: number; fromStore: number }> =
      await Promise.all(
        Array.from(
          { length: 3 },
          () =>
            // Starting a worker can take most of a minute on a loaded machine; the barrier waits for all.
            startWorker(
              'test/harness/workers/token-bucket-hammer.worker.ts',
              {
                target: target.name,
                name,
                ...shape,
                refusalCache: true,
                durationMs: 3_000,
                pauseMs: 2,
                barrier,
              },
              { timeoutMs: 110_000 },
            ).result,
        ),
      );
    const admitted = runs.flatMap((r) => r.admittedAt).sort((a, b) => a - b);
    const first = admitted[0];
    // Refills land a period apart from the first take. Every one before the first process
    // stopped (less the time to notice it) was taken; none after the last had stopped.
    const surely = Math.floor((Math.min(...runs.map((r) => r.endedAt)) - 200 - first) / shape.refillFrequency);
    const atMost = Math.floor((Math.max(...runs.map((r) => r.endedAt)) + 50 - first) / shape.refillFrequency);
    expect(admitted.length).toBeGreaterThanOrEqual(shape.capacity + surely);
    expect(admitted.length).toBeLessThanOrEqual(shape.capacity + atMost);
    // Each refill was taken soon after it landed (refill k at first + k periods): no cached
    // refusal outlived it. The median, as a process the machine stalls records its
    // admission late; one refill missed would shift every later one by a period.
    const lateBy = admitted.slice(shape.capacity).map((at, i) => at - first - (i + 1) * shape.refillFrequency);
    expect(median(lateBy)).toBeLessThan(100);
    expect(Math.min(...lateBy)).toBeGreaterThan(-100);
    const cached = runs.reduce((sum, r) => sum + r.cached, 0);
    const fromStore = runs.reduce((sum, r) => sum + r.fromStore, 0);
    expect(cached / (cached + fromStore)).toBeGreaterThan(0.8);
  }, 120_000);
});

describe('Redis commands per refusal of a hammered key (a Redis of its own)', () => {
  const own = useOwnRedis();

  /** Commands the server ran while `refusals` calls were refused, per refusal. */
  async function commandsPerRefusal(refusalCache: boolean, refusals: number): Promise<number> {
    const redis = own.client();
    const bucket = new TokenBucketLimiter(redis, {
      name: uniqueName('hammered'),
      capacity: 1,
      refillFrequency: HOUR,
      refusalCache,
    });
    await bucket.take(); // connected, script loaded, bucket empty
    const processed = async () => Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))![1]);
    const before = await processed();
    for (let i = 0; i < refusals; i++) expect((await bucket.tryTake()).allowed).toBe(false);
    return ((await processed()) - before) / refusals;
  }

  it('costs at most 0.05 commands a refusal with the cache, and one without', async () => {
    expect(await commandsPerRefusal(true, 2_000)).toBeLessThanOrEqual(0.05);
    expect(await commandsPerRefusal(false, 500)).toBeGreaterThanOrEqual(1);
  });
});
