import { nextRefillIn, tokenBucketPolicy } from '../../../lib/nest/kinds/token-bucket.kind';
import { limitMember, policyMember } from '../../../lib/nest/transport/outcome-mapping';

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
    expect(limitMember('api', { remaining: 42, nextMs: 800 })).toBe('"api";r=42;t=1');
    expect(limitMember('api', { remaining: -3, nextMs: 2_000 })).toBe('"api";r=0;t=2');
    const shape = { capacity: 100, refillFrequency: 600, refillAmount: 1 };
    expect(policyMember('api', tokenBucketPolicy(shape))).toBe('"api";q=100;w=60');
  });

  it('states a concurrency quota in its unit, with no window', () => {
    expect(policyMember('jobs', { quota: 4, unit: 'concurrent-requests' })).toBe('"jobs";q=4;qu="concurrent-requests"');
  });

  it('names the policy as an sf-string: quotes and backslashes escaped, anything but printable ASCII replaced', () => {
    const one = { remaining: 1, nextMs: 1 };
    expect(limitMember('Search.find v2', one)).toBe('"Search.find v2";r=1;t=1');
    expect(limitMember('a"b\\c', one)).toBe('"a\\"b\\\\c";r=1;t=1');
    expect(limitMember('café\n', one)).toBe('"caf??";r=1;t=1');
  });
});
