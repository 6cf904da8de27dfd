/** The breaker's and whenRedisFails 'local''s options: bad values and misspellings are named errors. */
import { FixedWindowLimiter, InvalidOptionError, MemoryStore, TokenBucketLimiter } from '../../lib';
import { resolveModuleOptions } from '../../lib/nest/resolve-module-options';
import { localShare } from '../../lib/nest/local-limits';
import { SemaphoreLimiter } from '../../lib';

const bucket = (breaker: unknown) =>
  new TokenBucketLimiter(new MemoryStore(), { name: 'b', capacity: 1, refillFrequency: 10, breaker: breaker as never });

describe('breaker option', () => {
  it.each([
    [0, 'Option "breaker" of limiter "b" must be false or { failures?, probeInterval? }; received 0.'],
    [true, 'Option "breaker" of limiter "b" must be false or { failures?, probeInterval? }; received true.'],
    [{ failures: 0 }, 'Option "breaker.failures" of limiter "b" must be a whole number of at least 1; received 0.'],
    [
      { probeInterval: -1 },
      'Option "breaker.probeInterval" of limiter "b" must be a whole number of milliseconds from 1 to 2147483647; received -1.',
    ],
    [
      { failurs: 3 },
      'Option "failurs" of limiter "b" breaker is not an option (did you mean "failures"?); received 3.',
    ],
  ])('refuses %p', (breaker, message) => {
    expect(() => bucket(breaker)).toThrow(InvalidOptionError);
    expect(() => bucket(breaker)).toThrow(message);
  });

  it('takes false, an empty object and both settings', () => {
    for (const breaker of [false, {}, { failures: 1, probeInterval: 1 }]) expect(() => bucket(breaker)).not.toThrow();
  });

  it('is checked as a module option too', () => {
    expect(() => resolveModuleOptions({ breaker: { failures: 1.5 } })).toThrow(
      'Option "breaker.failures" must be a whole number of at least 1; received 1.5.',
    );
    expect(() => resolveModuleOptions({ brekaer: {} } as never)).toThrow('(did you mean "breaker"?)');
  });
});

describe("whenRedisFails 'local' and instances", () => {
  it("takes 'local' and refuses other values, naming the three", () => {
    expect(resolveModuleOptions({ whenRedisFails: 'local' }).whenRedisFails).toBe('local');
    expect(() => resolveModuleOptions({ whenRedisFails: 'locally' as never })).toThrow(
      'must be "reject", "allow" or "local"',
    );
  });

  it.each([0, -1, 1.5, '2', null])('refuses instances %p', (instances) => {
    expect(() => resolveModuleOptions({ instances: instances as never })).toThrow(
      'Option "instances" of LimitersModule must be a whole number of at least 1',
    );
  });

  it("sizes a process's share never above the share and never 0", () => {
    const store = new MemoryStore();
    expect(localShare(new SemaphoreLimiter(store, { name: 's', capacity: 5 }), 2)).toEqual({ capacity: 2 });
    expect(localShare(new SemaphoreLimiter(store, { name: 's', capacity: 1 }), 3)).toEqual({ capacity: 1 });
    // 1 token per 100 ms over 3 instances: 1 per 300 ms each.
    expect(localShare(new TokenBucketLimiter(store, { name: 'b', capacity: 10, refillFrequency: 100 }), 3)).toEqual({
      capacity: 3,
      refillAmount: 1,
      refillFrequency: 300,
    });
    // 10 per second over 3: 3 per 900 ms, 3.33 a second each.
    expect(
      localShare(
        new TokenBucketLimiter(store, { name: 'b', capacity: 10, refillFrequency: 1_000, refillAmount: 10 }),
        3,
      ),
    ).toEqual({ capacity: 3, refillAmount: 3, refillFrequency: 900 });
    // A fixed window keeps its window: 100 a minute over 3 is 33 a minute each (99 for the fleet),
    // and a limit below the instances is still 1 each (the fleet then admits one per instance).
    expect(localShare(new FixedWindowLimiter(store, { name: 'w', limit: 100, window: 60_000 }), 3)).toEqual({
      limit: 33,
    });
    expect(localShare(new FixedWindowLimiter(store, { name: 'w', limit: 2, window: 'month' }), 3)).toEqual({
      limit: 1,
    });
  });
});
