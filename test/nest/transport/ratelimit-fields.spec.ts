import { nextRefillIn, tokenBucketLimit, tokenBucketPolicy } from '../../../lib/nest/transport/outcome-mapping';

describe('RateLimit fields of a token bucket', () => {
  it('finds the next refill from the time until full: refills land a period apart', () => {
    expect(nextRefillIn(2_800, 2_000)).toBe(800);
    expect(nextRefillIn(800, 2_000)).toBe(800);
    // Full exactly at a refill some periods away: the next one is a whole period away.
    expect(nextRefillIn(6_000, 2_000)).toBe(2_000);
    expect(nextRefillIn(1, 2_000)).toBe(1);
    // Already full: nothing to wait for but the period.
    expect(nextRefillIn(0, 2_000)).toBe(2_000);
  });

  it('writes r and t in whole seconds, rounded up, and q and w of the policy', () => {
    expect(tokenBucketLimit('api', 42, 800)).toBe('"api";r=42;t=1');
    expect(tokenBucketLimit('api', -3, 2_000)).toBe('"api";r=0;t=2');
    expect(tokenBucketPolicy('api', { capacity: 100, refillFrequency: 600, refillAmount: 1 })).toBe('"api";q=100;w=60');
  });

  it('names the policy as an sf-string: quotes and backslashes escaped, anything but printable ASCII replaced', () => {
    expect(tokenBucketLimit('Search.find v2', 1, 1)).toBe('"Search.find v2";r=1;t=1');
    expect(tokenBucketLimit('a"b\\c', 1, 1)).toBe('"a\\"b\\\\c";r=1;t=1');
    expect(tokenBucketLimit('café\n', 1, 1)).toBe('"caf??";r=1;t=1');
  });
});
