import { Injectable, type DynamicModule } from '@nestjs/common';
import { ClusterModule, ClusterService, RedisModule, RedisService } from '@liaoliaots/nestjs-redis';
import {
  InjectSemaphore,
  InjectTokenBucket,
  LimitersModule,
  LimitersService,
  SemaphoreLimiter,
  TokenBucketLimiter,
} from '../../lib';
import { ENV_CLUSTER_NODES, ENV_REDIS_URL, parseNodes, type RedisClient } from '../harness/connect';
import { useNestModules } from '../harness/nest-modules';
import { uniqueName } from '../harness/redis-targets';
import { waitUntil } from '../harness/timing';

@Injectable()
class Jobs {
  constructor(
    @InjectSemaphore('exports') readonly exports: SemaphoreLimiter,
    @InjectTokenBucket('github') readonly github: TokenBucketLimiter,
  ) {}
}

const limiters = () => ({
  semaphores: { exports: { name: uniqueName('exports'), capacity: 1 } },
  tokenBuckets: { github: { name: uniqueName('github'), capacity: 1, refillFrequency: 3_600_000 } },
});

/** The two ways @liaoliaots/nestjs-redis hands out clients: RedisService and ClusterService. */
const setups: Array<{ name: string; redisModule: () => DynamicModule; limitersModule: () => DynamicModule }> = [
  {
    name: 'RedisModule',
    redisModule: () => RedisModule.forRoot({ readyLog: false, config: { url: process.env[ENV_REDIS_URL] } }),
    limitersModule: () =>
      LimitersModule.forRootAsync({
        inject: [RedisService],
        useFactory: (redis: RedisService) => ({ redis: redis.getOrThrow(), ...limiters() }),
        injectable: { semaphores: ['exports'], tokenBuckets: ['github'] },
      }),
  },
  {
    name: 'ClusterModule',
    redisModule: () =>
      ClusterModule.forRoot({ readyLog: false, config: { nodes: parseNodes(process.env[ENV_CLUSTER_NODES]!) } }),
    limitersModule: () =>
      LimitersModule.forRootAsync({
        inject: [ClusterService],
        useFactory: (cluster: ClusterService) => ({ redis: cluster.getOrThrow(), ...limiters() }),
        injectable: { semaphores: ['exports'], tokenBuckets: ['github'] },
      }),
  },
];

describe.each(setups)('LimitersModule on the client of @liaoliaots/nestjs-redis $name', (setup) => {
  const { start } = useNestModules();
  const app = () => start({ imports: [setup.redisModule(), setup.limitersModule()], providers: [Jobs] });

  it('limits through that client: a released slot wakes the waiter, an empty bucket refuses', async () => {
    const jobs = (await app()).get(Jobs);
    const held = await jobs.exports.acquire();
    const waiter = jobs.exports.acquire({ maxSleep: 5_000 });
    await waitUntil('the waiter is queued', async () => (await jobs.exports.state()).waiters.length === 1);
    await held.release();
    await (await waiter).release();
    expect((await jobs.github.tryTake()).allowed).toBe(true);
    expect((await jobs.github.tryTake()).allowed).toBe(false);
  });

  it('leaves the client to nestjs-redis, which closes it with the app', async () => {
    const started = await app();
    const { redis, ownsRedis } = started.get(LimitersService).options;
    expect(ownsRedis).toBe(false);
    const ended = new Promise((resolve) => (redis as RedisClient).once('end', resolve));
    await started.close();
    await ended;
  });
});
