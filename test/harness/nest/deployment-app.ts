/**
 * An HTTP request through a limited handler, on one Redis deployment, as the TLS,
 * password, ACL and Sentinel specs each run it with their own `redis` module option.
 */
import { randomUUID } from 'node:crypto';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import type { LimitersModuleOptions, ResolvedLimitersOptions } from '../../../lib/nest/limiters-options.interface';
import { LIMITERS_OPTIONS } from '../../../lib/nest/limiters-options.provider';
import { now } from '../timing';
import { InFlight, startHttpApp } from './limited-app';

const WORK_MS = 200;
const CALLS_PER_RUN = 3;
const work = new InFlight();

/** Each run limits under a key of its own, so runs on one server never share tokens or slots. */
const runKey = (req: { headers: Record<string, string | undefined> }) => req.headers['x-run'];

@Controller()
class DeploymentController {
  @Get('work')
  @TokenBucket({ name: 'deployment-calls', capacity: CALLS_PER_RUN, refillFrequency: 60_000, maxSleep: 0, key: runKey })
  // Lease and maxSleep far longer than the run: only a grant over pub/sub admits the queued requests in time.
  @Semaphore({ name: 'deployment-work', capacity: 1, expiry: 60_000, maxSleep: 20_000, key: runKey })
  async work(): Promise<string> {
    await work.during(WORK_MS);
    return 'done';
  }
}

export interface RunResult {
  statuses: number[];
  /** Most requests running the handler at once, over both apps. */
  peak: number;
  elapsedMs: number;
}

/** One more request than the bucket allows, spread over `apps`, all at once. */
export async function limitedRun(apps: INestApplication[]): Promise<RunResult> {
  const key = randomUUID();
  work.peak = 0;
  const started = now();
  const responses = await Promise.all(
    Array.from({ length: CALLS_PER_RUN + 1 }, (_, i) =>
      request(apps[i % apps.length].getHttpServer())
        .get('/work')
        .set('x-run', key),
    ),
  );
  return { statuses: responses.map((r) => r.status).sort(), peak: work.peak, elapsedMs: now() - started };
}

/** The expectations of a run: one handler at a time across instances, the bucket's refusal, waiters woken promptly. */
export function expectLimitedRun({ statuses, peak, elapsedMs }: RunResult): void {
  expect(statuses).toEqual([...Array(CALLS_PER_RUN).fill(200), 429]);
  expect(peak).toBe(1);
  // Queued requests were woken by the releases, long before their maxSleep (20 s) or lease (60 s)
  // could have let them in. Loose: the machine running the tests may be busy.
  expect(elapsedMs).toBeLessThan(10_000);
}

/** Two app instances on the deployment, built from `redis()` each (a URL, RedisOptions or a client). */
export async function startDeploymentApps(redis: () => LimitersModuleOptions['redis']): Promise<INestApplication[]> {
  return Promise.all(
    [0, 1].map(() => startHttpApp('express', { controllers: [DeploymentController], redis: redis() })),
  );
}

/** The Redis connection an app's module limits through (the one it made from a URL or options). */
export function moduleRedis(app: INestApplication): NonNullable<ResolvedLimitersOptions['redis']> {
  return app.get<ResolvedLimitersOptions>(LIMITERS_OPTIONS).redis!;
}

/** Call inside a describe: two instances of an app limit one handler together through the module. */
export function throughTheModule(redis: () => LimitersModuleOptions['redis']): void {
  it('two app instances share one limit through LimitersModule.forRoot: a request waits, one is refused', async () => {
    const apps = await startDeploymentApps(redis);
    try {
      expectLimitedRun(await limitedRun(apps));
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });
}
