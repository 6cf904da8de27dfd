import { InvalidOptionError } from './errors';
import { OptionReader, type CommonLimiterOptions } from './options';
import type { TokenBucketShape, TokenBucketSnapshot } from './limiter-store';
import type { StoreOrClient } from './store-resolver';
import { BaseRateLimiter } from './base-rate-limiter';

export interface TokenBucketOptions extends CommonLimiterOptions {
  /** Most tokens the bucket holds; it starts full. */
  capacity: number;
  /** Ms between refills. */
  refillFrequency: number;
  /** Tokens added at each refill, never above capacity. Default 1. */
  refillAmount?: number;
  /**
   * Ms a refused bucket stays refused after the refusal, whatever refills land meanwhile
   * (as @nestjs/throttler's option): a refused call's retryAfter says when it ends, and a
   * take() may sleep until then. Refusals during the block do not lengthen it. Default: none.
   */
  blockDuration?: number;
  /**
   * Remembers each refusal's "not before" in this process, and refuses later calls that
   * cannot succeed before then without asking Redis (see RefusalCache; exact, never
   * refuses what Redis would admit). Default true.
   */
  refusalCache?: boolean;
}

/**
 * A distributed, scheduling token bucket. take() reserves the earliest refill at which
 * its tokens exist and sleeps until then, so under saturation callers are admitted at
 * exactly refillAmount per refillFrequency, and no window sees more than the bucket allows.
 */
export class TokenBucketLimiter extends BaseRateLimiter<TokenBucketShape, TokenBucketSnapshot> {
  constructor(store: StoreOrClient, options: TokenBucketOptions) {
    const reader = OptionReader.forLimiter(options, 'token-bucket');
    const common = reader.common();
    const shape: TokenBucketShape = {
      capacity: reader.positiveInteger('capacity'),
      refillFrequency: reader.duration('refillFrequency', undefined, { min: 1 }),
      refillAmount: reader.positiveInteger('refillAmount', 1),
      blockDuration: reader.blockDuration(),
    };
    super(store, {
      kind: 'token-bucket',
      reader,
      common,
      shape,
      shapeKey: `${shape.capacity}/${shape.refillAmount}/${shape.refillFrequency}/${shape.blockDuration}`,
      most: { option: 'capacity', value: shape.capacity },
      backendOf: (resolved) => resolved.tokenBucket(common),
      // Refills that landed since the refusal, if nobody took any: never as many as were asked for.
      cachedBalance: (refused, tokens, left) => {
        const refillsNeeded = Math.ceil((refused.tokens - refused.balance) / shape.refillAmount);
        const refillsLeft = Math.ceil(left / shape.refillFrequency);
        return Math.min(tokens - 1, refused.balance + Math.max(0, refillsNeeded - refillsLeft) * shape.refillAmount);
      },
    });
  }

  /** Tokens now (negative: promised to sleeping callers), ms to the next refill and until full. */
  state(): Promise<TokenBucketSnapshot> {
    return super.state();
  }

  /**
   * Gives `tokens` back to the bucket, never above its capacity: for calls that should not
   * count (refund what a call took when it turned out not to matter). The refill phase stays
   * as it was. Clears this process's cached refusals of the bucket. Resolves with the bucket after it.
   */
  async refund(tokens = 1): Promise<TokenBucketSnapshot> {
    return super.refund(tokens);
  }

  /**
   * Takes `tokens` more from the bucket, at once and whatever its balance: below 0 it is a
   * debt that later callers wait out at the refill rate (a failed login costing ten
   * attempts, say). It only ever delays later admissions. Any whole number from 1.
   */
  async penalize(tokens = 1): Promise<TokenBucketSnapshot> {
    if (typeof tokens !== 'number' || !Number.isSafeInteger(tokens) || tokens < 1) {
      throw new InvalidOptionError('tokens', this.name, 'must be a whole number of at least 1', tokens);
    }
    return this.adjust(-tokens);
  }
}
