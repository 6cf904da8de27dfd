/**
 * @Semaphore({ permits }): a call holds several permits of the semaphore, fixed or worked
 * out per call. Peaks are counted from the callers' own enter/leave, weighted.
 */
import { Controller, Get, Injectable, Query } from '@nestjs/common';
import request from 'supertest';
import { InvalidOptionError, LimiterError } from '../../lib/core/errors';
import { Semaphore } from '../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../lib/nest/decorators/token-bucket.decorator';
import { targets, uniqueName, useClients } from '../harness/redis-targets';
import { sleep } from '../harness/timing';
import { adapters, startContext, startHttpApp, type AppParts } from '../harness/nest/limited-app';

/** Permits held right now by callers inside, and the most at once. */
class WeightedInFlight {
  now = 0;
  peak = 0;
  async during(permits: number, ms: number): Promise<void> {
    this.now += permits;
    this.peak = Math.max(this.peak, this.now);
    try {
      await sleep(ms);
    } finally {
      this.now -= permits;
    }
  }
}

@Injectable()
class Jobs {
  readonly inFlight = new WeightedInFlight();

  @Semaphore({ name: uniqueName('permits-fixed'), capacity: 3, maxSleep: 20_000, permits: 2 })
  async heavy(): Promise<void> {
    await this.inFlight.during(2, 30);
  }
}

const httpInFlight = new WeightedInFlight();

@Controller('jobs')
class JobsController {
  // The request says how heavy it is: permits worked out per call, async like a plan lookup.
  @Get()
  @Semaphore<{ query: Record<string, string> }>({
    name: uniqueName('permits-call'),
    capacity: 4,
    maxSleep: 20_000,
    permits: async (req) => Number(req.query.size),
  })
  async run(@Query('size') size: string): Promise<string> {
    await httpInFlight.during(Number(size), 30);
    return 'done';
  }
}

@Injectable()
class TooHeavy {
  @Semaphore({ name: uniqueName('permits-too-many'), capacity: 2, permits: 3 })
  async run(): Promise<void> {}
}

describe.each(targets)('@Semaphore({ permits }), $name', (target) => {
  const { client } = useClients(target);
  const parts = (more: Partial<AppParts>): AppParts => ({
    redis: client(),
    options: { keyPrefix: uniqueName('permits') },
    ...more,
  });

  it('holds `permits` of the capacity for each call: calls worth 2 never run two at once under capacity 3', async () => {
    const app = await startContext(parts({ providers: [Jobs] }));
    try {
      const jobs = app.get(Jobs);
      await Promise.all(Array.from({ length: 5 }, () => jobs.heavy()));
      expect(jobs.inFlight.peak).toBe(2);
    } finally {
      await app.close();
    }
  });

  it.each(adapters)(
    'works permits out per call (%s): the weighted peak never passes the capacity, and reaches it',
    async (adapter) => {
      httpInFlight.peak = 0;
      const app = await startHttpApp(adapter, parts({ controllers: [JobsController] }));
      try {
        const sizes = [3, 1, 2, 4, 1, 2, 3, 1, 2, 2];
        await Promise.all(sizes.map((size) => request(app.getHttpServer()).get(`/jobs?size=${size}`).expect(200)));
        expect(httpInFlight.peak).toBeLessThanOrEqual(4);
        // The size-4 call alone fills it: a limit that ignored permits would peak far above.
        expect(httpInFlight.peak).toBeGreaterThanOrEqual(4);
      } finally {
        await app.close();
      }
    },
  );

  it('fails the start when permits exceed the capacity, naming permits', async () => {
    await expect(startContext(parts({ providers: [TooHeavy] }))).rejects.toThrow(InvalidOptionError);
    await expect(startContext(parts({ providers: [TooHeavy] }))).rejects.toThrow(/permits/);
  });
});

/** Applies a method decorator to a fresh class, as a class definition would. */
function decorate(decorator: MethodDecorator): void {
  class Target {
    run(): void {}
  }
  const descriptor = Object.getOwnPropertyDescriptor(Target.prototype, 'run')!;
  decorator(Target.prototype, 'run', descriptor);
}

describe('@Semaphore option names', () => {
  it('refuses a misspelt permits at class definition, naming the nearest option', () => {
    const misspelt = Semaphore({ name: 'x', capacity: 2, permit: 2 } as never);
    expect(() => decorate(misspelt)).toThrow(LimiterError);
    expect(() => decorate(misspelt)).toThrow(/permits/);
  });

  it('refuses permits on a token bucket', () => {
    expect(() =>
      decorate(TokenBucket({ name: 'x', capacity: 2, refillFrequency: 1_000, permits: 2 } as never)),
    ).toThrow(/permits/);
  });
});
