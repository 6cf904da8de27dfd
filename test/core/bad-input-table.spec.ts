/**
 * Every option and per-call argument against every kind of wrong value, and names with
 * every awkward character. A wrong value is an InvalidOptionError naming the option, and
 * leaves Redis exactly as it was: not a key, not a script call. Awkward names work and
 * stay isolated from each other and from the names they imitate.
 * Runs on a Redis of its own, so "nothing changed" can be checked on the whole server.
 */
import { InvalidOptionError } from '../../lib/core/errors';
import { SemaphoreLimiter } from '../../lib';
import { TokenBucketLimiter } from '../../lib';
import { FixedWindowLimiter } from '../../lib';
import { SlidingWindowLimiter } from '../../lib';
import { encodeName, limiterKey } from '../../lib/store/redis/keys';
import type Redis from 'ioredis';
import { useOwnRedis } from '../harness/own-redis';

const own = useOwnRedis();
let redis: Redis;
beforeAll(() => {
  redis = own.client();
});

/** Every key with its value and TTL state, and how many scripts ran: what any call could change. */
async function snapshot(): Promise<{ keys: Record<string, string>; scriptCalls: number }> {
  const keys: Record<string, string> = {};
  for (const key of (await redis.keys('*')).sort()) {
    const [dump, ttl] = await Promise.all([redis.dumpBuffer(key), redis.pttl(key)]);
    keys[key] = `${dump?.toString('hex')} ttl:${ttl > 0 ? 'set' : ttl}`;
  }
  const stats = await redis.info('commandstats');
  const scriptCalls = [...stats.matchAll(/^cmdstat_(?:eval|evalsha|eval_ro|evalsha_ro|fcall):calls=(\d+)/gm)].reduce(
    (sum, [, calls]) => sum + Number(calls),
    0,
  );
  return { keys, scriptCalls };
}

// ---- options ----

/** Wrong in some way for every option below, except where an option lists it as accepted. */
const values: Array<[string, unknown]> = [
  ['null', null],
  ["''", ''],
  ["' '", ' '],
  ["'5'", '5'],
  ['5.5', 5.5],
  ['-1', -1],
  ['0', 0],
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['{}', {}],
  ['[]', []],
  ['true', true],
  ['2**53', 2 ** 53],
  ['2**31 (past the longest timer)', 2 ** 31],
  ['BigInt 5n', 5n],
  ['Symbol', Symbol('five')],
  ['a function', () => 5],
];

interface OptionSpec {
  option: string;
  required?: boolean;
  /** Labels of `values` this option takes. */
  accepts?: string[];
}

const common: OptionSpec[] = [
  { option: 'name', required: true, accepts: ["' '", "'5'"] }, // any non-empty string is a name
  { option: 'maxSleep', accepts: ['0', 'Infinity'] },
  { option: 'keyPrefix', accepts: ["' '", "'5'"] },
  { option: 'commandTimeout' },
  { option: 'key', accepts: ["' '", "'5'"] }, // any non-empty string is a key
  { option: 'keySecret', accepts: ["' '", "'5'"] },
  { option: 'readableKeys', accepts: ['true'] },
];
// A count of slots or tokens is not a duration: past the longest timer is fine.
const COUNTS = ['2**31 (past the longest timer)'];
const limiters = {
  semaphore: {
    options: [...common, { option: 'capacity', required: true, accepts: COUNTS }, { option: 'expiry' }],
    build: (options: object) => new SemaphoreLimiter(redis, { name: 'n', capacity: 2, ...options } as never),
  },
  'token bucket': {
    options: [
      ...common,
      { option: 'capacity', required: true, accepts: COUNTS },
      { option: 'refillFrequency', required: true },
      { option: 'refillAmount', accepts: COUNTS },
      { option: 'blockDuration' },
    ],
    build: (options: object) =>
      new TokenBucketLimiter(redis, { name: 'n', capacity: 5, refillFrequency: 1000, ...options } as never),
  },
  // Calendar windows by default, so that `timezone` is read.
  'fixed window': {
    options: [
      ...common,
      { option: 'limit', required: true, accepts: COUNTS },
      { option: 'window', required: true },
      { option: 'timezone' },
      { option: 'blockDuration' },
    ],
    build: (options: object) =>
      new FixedWindowLimiter(redis, { name: 'n', limit: 5, window: 'day', ...options } as never),
  },
};

function expectInvalid(error: unknown, option: string): void {
  expect(error).toBeInstanceOf(InvalidOptionError);
  expect((error as InvalidOptionError).option).toBe(option);
  expect((error as Error).message).toContain(`"${option}"`);
}

const optionCases = Object.entries(limiters).flatMap(([limiter, { options }]) =>
  options.flatMap(({ option, required, accepts = [] }) => [
    ...(required ? [{ limiter, option, label: 'undefined', value: undefined as unknown }] : []),
    ...values
      .filter(([label]) => !accepts.includes(label))
      .map(([label, value]) => ({ limiter, option, label, value })),
  ]),
);

describe('limiter options', () => {
  it.each(optionCases)(
    '$limiter $option = $label: InvalidOptionError naming it, Redis untouched',
    async ({ limiter, option, value }) => {
      const before = await snapshot();
      let error: unknown;
      try {
        limiters[limiter as keyof typeof limiters].build({ [option]: value });
      } catch (e) {
        error = e;
      }
      expectInvalid(error, option);
      expect(await snapshot()).toEqual(before);
    },
  );

  it('takes the values the table marks as accepted, and defaults for optional options', () => {
    for (const { options, build } of Object.values(limiters)) {
      for (const { option, required, accepts = [] } of options) {
        for (const [, value] of values.filter(([label]) => accepts.includes(label))) {
          expect(() => build({ [option]: value })).not.toThrow();
        }
        if (!required) expect(() => build({ [option]: undefined })).not.toThrow();
      }
    }
  });

  it.each([
    ['braces', '{a}'],
    ['an opening brace', 'a{'],
    ['a closing brace', '}'],
  ])('keyPrefix with %s: InvalidOptionError', (_, keyPrefix) => {
    expect.assertions(3);
    try {
      limiters.semaphore.build({ keyPrefix });
    } catch (e) {
      expectInvalid(e, 'keyPrefix');
    }
  });

  it.each([null, undefined, 'name', 5, []])('options %p instead of an object: InvalidOptionError', (options) => {
    expect(() => new SemaphoreLimiter(redis, options as never)).toThrow(InvalidOptionError);
    expect(() => new TokenBucketLimiter(redis, options as never)).toThrow(InvalidOptionError);
    expect(() => new FixedWindowLimiter(redis, options as never)).toThrow(InvalidOptionError);
    expect(() => new SlidingWindowLimiter(redis, options as never)).toThrow(InvalidOptionError);
  });

  it.each([
    ['a misspelt option', { blockDurration: 1_000 }, 'blockDurration', /did you mean "blockDuration"/],
    ['a token bucket option', { capacity: 5 }, 'capacity', /is not an option/],
    ['a time zone for a window of a length', { window: 60_000, timezone: 'UTC' }, 'timezone', /only to calendar/],
  ])('fixed window with %s: InvalidOptionError naming it', (_, options, option, message) => {
    expect.assertions(4);
    try {
      limiters['fixed window'].build(options);
    } catch (e) {
      expectInvalid(e, option);
      expect((e as Error).message).toMatch(message);
    }
  });
});

// ---- per-call arguments ----

describe('per-call arguments', () => {
  const name = 'victim';
  let semaphore: SemaphoreLimiter;
  let bucket: TokenBucketLimiter;
  let window: FixedWindowLimiter;
  let sliding: SlidingWindowLimiter;
  beforeAll(async () => {
    // Some state for a bad call to disturb: a held permit, a half-drained bucket and window.
    semaphore = new SemaphoreLimiter(redis, { name, capacity: 2, expiry: 60_000 });
    bucket = new TokenBucketLimiter(redis, { name, capacity: 5, refillFrequency: 60_000 });
    window = new FixedWindowLimiter(redis, { name, limit: 5, window: 60_000 });
    sliding = new SlidingWindowLimiter(redis, { name, limit: 5, window: 60_000 });
    await semaphore.backend.acquire({ id: 'held', capacity: 2, leaseMs: 60_000, waitMs: 0 });
    await bucket.take(2);
    await window.take(2);
    await sliding.take(2);
  });

  const calls: Array<{ call: string; option: string; accepts: string[]; run: (value: unknown) => Promise<unknown> }> = [
    {
      call: 'semaphore.acquire({ maxSleep })',
      option: 'maxSleep',
      accepts: ['0', 'Infinity'],
      run: (v) => semaphore.acquire({ maxSleep: v as number }),
    },
    {
      call: 'semaphore.run(work, { maxSleep })',
      option: 'maxSleep',
      accepts: ['0', 'Infinity'],
      run: (v) => semaphore.run(() => undefined, { maxSleep: v as number }),
    },
    { call: 'bucket.take(tokens)', option: 'tokens', accepts: [], run: (v) => bucket.take(v as number) },
    { call: 'bucket.tryTake(tokens)', option: 'tokens', accepts: [], run: (v) => bucket.tryTake(v as number) },
    {
      call: 'bucket.run(work, { tokens })',
      option: 'tokens',
      accepts: [],
      run: (v) => bucket.run(() => undefined, { tokens: v as number }),
    },
    {
      call: 'bucket.take(1, { maxSleep })',
      option: 'maxSleep',
      accepts: ['0', 'Infinity'],
      run: (v) => bucket.take(1, { maxSleep: v as number }),
    },
    {
      call: 'bucket.run(work, { maxSleep })',
      option: 'maxSleep',
      accepts: ['0', 'Infinity'],
      run: (v) => bucket.run(() => undefined, { maxSleep: v as number }),
    },
    { call: 'window.take(tokens)', option: 'tokens', accepts: [], run: (v) => window.take(v as number) },
    { call: 'window.tryTake(tokens)', option: 'tokens', accepts: [], run: (v) => window.tryTake(v as number) },
    { call: 'window.refund(tokens)', option: 'tokens', accepts: [], run: (v) => window.refund(v as number) },
    {
      call: 'window.take(1, { maxSleep })',
      option: 'maxSleep',
      accepts: ['0', 'Infinity'],
      run: (v) => window.take(1, { maxSleep: v as number }),
    },
    { call: 'sliding.take(tokens)', option: 'tokens', accepts: [], run: (v) => sliding.take(v as number) },
    { call: 'sliding.tryTake(tokens)', option: 'tokens', accepts: [], run: (v) => sliding.tryTake(v as number) },
    { call: 'sliding.refund(tokens)', option: 'tokens', accepts: [], run: (v) => sliding.refund(v as number) },
    {
      call: 'sliding.take(1, { maxSleep })',
      option: 'maxSleep',
      accepts: ['0', 'Infinity'],
      run: (v) => sliding.take(1, { maxSleep: v as number }),
    },
    {
      call: 'window.run(work, { signal })',
      option: 'signal',
      accepts: [],
      run: (v) => window.run(() => undefined, { signal: v as AbortSignal }),
    },
    {
      call: 'semaphore.acquire({ signal })',
      option: 'signal',
      accepts: [],
      run: (v) => semaphore.acquire({ signal: v as AbortSignal }),
    },
    {
      call: 'semaphore.run(work, { signal })',
      option: 'signal',
      accepts: [],
      run: (v) => semaphore.run(() => undefined, { signal: v as AbortSignal }),
    },
    {
      call: 'bucket.take(1, { signal })',
      option: 'signal',
      accepts: [],
      run: (v) => bucket.take(1, { signal: v as AbortSignal }),
    },
    {
      call: 'bucket.run(work, { signal })',
      option: 'signal',
      accepts: [],
      run: (v) => bucket.run(() => undefined, { signal: v as AbortSignal }),
    },
  ];
  const cases = calls.flatMap(({ call, option, accepts, run }) => [
    ...values
      .filter(([label]) => !accepts.includes(label))
      .map(([label, value]) => ({ call, option, label, value, run })),
    ...(option === 'tokens' ? [{ call, option, label: 'more than capacity (6)', value: 6 as unknown, run }] : []),
  ]);

  it.each(cases)(
    '$call with $label: InvalidOptionError naming $option, Redis untouched',
    async ({ option, value, run }) => {
      const before = await snapshot();
      const error = await run(value).then(
        () => undefined,
        (e: unknown) => e,
      );
      expectInvalid(error, option);
      expect(await snapshot()).toEqual(before);
    },
  );
});

// ---- names ----

const controlCharacters = Array.from({ length: 32 }, (_, code) => String.fromCharCode(code)).concat('\x7f');
const awkward: Array<[string, string]> = [
  ...controlCharacters.map((c): [string, string] => [
    `control U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    `a${c}b`,
  ]),
  ['NUL alone', '\0'],
  ['NUL at the end', 'victim\0'],
  ['emoji', '🚦🧪👩‍👩‍👧'],
  ['RTL override', '\u202evictim'],
  ['RTL and LTR marks', '\u200fvictim\u200e'],
  ['zero-width space', 'vic\u200btim'],
  ['precomposed é', '\u00e9'],
  ['decomposed é', 'e\u0301'],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', '\udc00'],
  ['replacement character', '\ufffd'],
  ['10 000 characters', 'x'.repeat(10_000)],
  ['10 001 characters', 'x'.repeat(10_001)],
  ['braces', '{victim}'],
  ['unbalanced braces', '}{'],
  ['colons', 'a:b::c:'],
  ['percent', '100%s %d %%'],
  ['glob star', '*'],
  ['glob question', 'v?ctim'],
  ['glob class', '[v]ictim'],
  ['backslash', 'victim\\'],
  ['quotes', `"victim'`],
  ['spaces only', '   '],
  ['upper case', 'VICTIM'],
  ['trailing space', 'victim '],
  // Request data crafted to land on the victim's keys.
  ['a key suffix', 'victim}:holders'],
  ['the full key', limiterKey('limiters', 'semaphore', 'victim')],
  ['the encoded name', encodeName('victim')],
  ['the encoded name of a name that needs encoding', encodeName('victim!')],
  ['a hashed-looking name', `h.${encodeName('victim')}`],
  ['the bucket key', limiterKey('limiters', 'token-bucket', 'victim')],
  ['the window key', limiterKey('limiters', 'fixed-window', 'victim')],
  ['the block key', `${limiterKey('limiters', 'fixed-window', 'victim')}:blocked`],
  ['the sliding window key', limiterKey('limiters', 'sliding-window', 'victim')],
];

describe('awkward names', () => {
  it('every name is distinct from the victim and from each other', () => {
    const names = ['victim', ...awkward.map(([, n]) => n)];
    expect(new Set(names).size).toBe(names.length);
  });

  it('each name works and is isolated: one slot and one token each, keys of its own', async () => {
    const names = ['victim', ...awkward.map(([, n]) => n)];
    const keyPrefix = 'names';
    const semaphores = names.map((n) => new SemaphoreLimiter(redis, { name: n, capacity: 1, keyPrefix }));
    const first = await Promise.all(semaphores.map((s) => s.tryAcquire()));
    const unusable = names.filter((_, i) => first[i] === null);
    expect(unusable).toEqual([]);
    // Taken one by one, so a name that shared another's slot would find it held.
    const second = await Promise.all(semaphores.map((s) => s.tryAcquire()));
    expect(names.filter((_, i) => second[i] !== null)).toEqual([]);
    for (const [i, s] of semaphores.entries()) {
      expect((await s.state()).holders.map((h) => h.id)).toEqual([first[i]!.id]);
    }
    expect(await redis.keys(`${keyPrefix}:semaphore:*:holders`)).toHaveLength(names.length);
    await Promise.all(first.map((p) => p!.release()));

    const buckets = names.map(
      (n) => new TokenBucketLimiter(redis, { name: n, capacity: 1, refillFrequency: 60_000, keyPrefix }),
    );
    expect((await Promise.all(buckets.map((b) => b.tryTake()))).every((r) => r.allowed)).toBe(true);
    expect((await Promise.all(buckets.map((b) => b.tryTake()))).filter((r) => r.allowed)).toEqual([]);
    expect(await redis.keys(`${keyPrefix}:token-bucket:*`)).toHaveLength(names.length);

    const windows = names.map(
      (n) => new FixedWindowLimiter(redis, { name: n, limit: 1, window: 60_000, keyPrefix, blockDuration: 60_000 }),
    );
    expect((await Promise.all(windows.map((w) => w.tryTake()))).every((r) => r.allowed)).toBe(true);
    expect((await Promise.all(windows.map((w) => w.tryTake()))).filter((r) => r.allowed)).toEqual([]);
    // A window and its block each: no name reached another's.
    expect(await redis.keys(`${keyPrefix}:fixed-window:*`)).toHaveLength(2 * names.length);

    const slidings = names.map(
      (n) => new SlidingWindowLimiter(redis, { name: n, limit: 1, window: 60_000, keyPrefix }),
    );
    expect((await Promise.all(slidings.map((w) => w.tryTake()))).every((r) => r.allowed)).toBe(true);
    expect((await Promise.all(slidings.map((w) => w.tryTake()))).filter((r) => r.allowed)).toEqual([]);
    expect(await redis.keys(`${keyPrefix}:sliding-window:*`)).toHaveLength(names.length);
  });
});
