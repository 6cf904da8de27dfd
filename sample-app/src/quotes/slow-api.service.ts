import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { InjectSemaphore, Semaphore, SemaphoreLimiter } from '../../../lib';
import { SLOW_API } from '../sample-limits';
import { UpstreamMeter } from './upstream-meter';

export interface Quote {
  symbol: string;
  price: number;
}

/**
 * Client of a slow external API that allows SLOW_API.capacity calls at once. Both
 * methods share the one registered semaphore "slow-api": one through the decorator, one
 * through the injected limiter, used directly.
 */
@Injectable()
export class SlowApiService {
  constructor(
    private readonly meter: UpstreamMeter,
    @InjectSemaphore(SLOW_API.name) private readonly slots: SemaphoreLimiter,
  ) {}

  /** The decorator holds a slot for the whole call and gives it back when it ends or throws. */
  @Semaphore(SLOW_API.name)
  async quote(symbol: string): Promise<Quote> {
    return this.meter.measure(() => this.call(symbol));
  }

  /** The same limit taken by hand: run() acquires, calls, and releases also on errors. */
  async history(symbol: string, days: number): Promise<Quote[]> {
    return this.slots.run(() =>
      this.meter.measure(async () => {
        const today = await this.call(symbol);
        return Array.from({ length: days }, (_, i) => ({ symbol, price: round(today.price * (1 - i / 100)) }));
      }),
    );
  }

  /** What the external API would answer, after its usual delay. */
  private async call(symbol: string): Promise<Quote> {
    await sleep(SLOW_API.callMs);
    return { symbol, price: round(100 + (hash(symbol) % 900) + Math.random()) };
  }
}

function round(price: number): number {
  return Math.round(price * 100) / 100;
}

function hash(text: string): number {
  return [...text].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
}
