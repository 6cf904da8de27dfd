/**
 * GraphQL, first-class: @TokenBucket and @Semaphore on the resolvers of a real
 * @nestjs/graphql + @nestjs/apollo app (Apollo Server 5 on Express 5, and on Fastify 5).
 * Refusals are GraphQL errors naming the limit, never the caller's key; a query's cost is
 * a function of its arguments; a resolver is limited once per call.
 */
import type { ApolloDriverConfig } from '@nestjs/apollo';
import { Injectable, UseGuards, type ExecutionContext, type INestApplication, type Type } from '@nestjs/common';
import { Args, GqlExecutionContext, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Request } from 'express';
import { Cluster } from 'ioredis';
import { Semaphore, SkipLimits, TokenBucket, TokenBucketGuard } from '../../../lib';
import { RATE_KINDS, secondsUpTo, type RateKind } from '../../harness/rate-kinds';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { closeClient } from '../../harness/connect';
import { waitUntil } from '../../harness/timing';
import { errorCodes, postQuery, startGraphqlApp, type GraphqlAnswer } from '../../harness/nest/graphql-app';
import { InFlight, unreachableRedis, type AdapterName } from '../../harness/nest/limited-app';

const minute = { refillFrequency: 60_000, maxSleep: 0 } as const;

/** What ran, counted outside any limiter. Tests compare counts before and after. */
const runs = { items: 0, once: 0, guarded: 0, reports: 0, exports: new InFlight(), plan: 0, free: 0 };
/** What `key` was called with, per call. */
const keyCalls: { method: string; url: string; apiKey: unknown; type: string; first: unknown }[] = [];

@Injectable()
class ReportService {
  @TokenBucket({ name: 'gql-reports', capacity: 1, ...minute })
  async render(): Promise<string> {
    runs.reports += 1;
    return 'report';
  }
}

@Resolver()
class ApiResolver {
  constructor(private readonly reports: ReportService) {}

  /** One bucket per API key; a query for `first` items takes `first` tokens. */
  @Query(() => [String])
  @TokenBucket<Request>({
    name: 'gql-items',
    capacity: 5,
    ...minute,
    key: (req, context) => {
      const first = GqlExecutionContext.create(context).getArgs<{ first?: number }>().first;
      keyCalls.push({
        method: req.method,
        url: req.originalUrl,
        apiKey: req.headers['x-api-key'],
        type: context.getType(),
        first,
      });
      return req.headers['x-api-key'] as string | undefined;
    },
    tokens: (_req, context) => GqlExecutionContext.create(context).getArgs<{ first?: number }>().first ?? 1,
  })
  items(@Args('first', { type: () => Int, nullable: true }) first?: number): string[] {
    runs.items += 1;
    return Array.from({ length: first ?? 1 }, (_, i) => `item-${i}`);
  }

  @Query(() => String)
  @TokenBucket({ name: 'gql-once', capacity: 2, ...minute })
  once(): string {
    runs.once += 1;
    return 'once';
  }

  /** The guard takes the tokens, the interceptor then takes none. */
  @Query(() => String)
  @UseGuards(TokenBucketGuard)
  @TokenBucket({ name: 'gql-guarded', capacity: 2, ...minute })
  guarded(): string {
    runs.guarded += 1;
    return 'guarded';
  }

  @Mutation(() => String)
  @Semaphore({ name: 'gql-export', capacity: 1, maxSleep: 0 })
  async export(@Args('ms', { type: () => Int }) ms: number): Promise<string> {
    await runs.exports.during(ms);
    return 'exported';
  }

  /** Not limited itself: the service it calls is. */
  @Query(() => String)
  report(): Promise<string> {
    return this.reports.render();
  }
}

/** A class-level bucket: shared by every query of the class but the skipped one. */
@Resolver()
@TokenBucket({ name: 'gql-plan', capacity: 2, ...minute })
class PlanResolver {
  @Query(() => String)
  planA(): string {
    runs.plan += 1;
    return 'a';
  }

  @Query(() => String)
  planB(): string {
    runs.plan += 1;
    return 'b';
  }

  @Query(() => String)
  @SkipLimits()
  planFree(): string {
    runs.free += 1;
    return 'free';
  }
}

/** The query of each rate kind, `<kind>Items`: one limit of 5 a minute per API key, a query for `first` costing `first`. */
function rateResolver(rate: RateKind): Type {
  @Resolver()
  class RateResolver {
    @Query(() => [String], { name: `${rate.defaultsKey}Items` })
    @rate.decorator({
      name: `gql-${rate.kind}`,
      ...rate.per(5, 60_000),
      maxSleep: 0,
      key: (req: Request) => req.headers['x-api-key'] as string | undefined,
      tokens: (_req: Request, context: ExecutionContext) =>
        GqlExecutionContext.create(context).getArgs<{ first?: number }>().first ?? 1,
    })
    items(@Args('first', { type: () => Int, nullable: true }) first?: number): string[] {
      runs.items += 1;
      return Array.from({ length: first ?? 1 }, (_, i) => `item-${i}`);
    }
  }
  return RateResolver;
}

const providers = [ReportService, ApiResolver, PlanResolver, ...RATE_KINDS.map(rateResolver)];

/** The one error of an answer whose data field is null (the fields are non-null). */
function onlyError(answer: GraphqlAnswer) {
  expect(answer.body.errors).toHaveLength(1);
  return answer.body.errors![0];
}

/**
 * Express: the driver's default context, `{ req }` (the response is `req.res`). Fastify: a
 * request has no link to its reply, so the app's context adds `reply`, as the docs say to
 * for Retry-After on the HTTP answer (without it, see the last describe).
 */
const platforms: Array<{ adapter: AdapterName; graphql: Partial<ApolloDriverConfig> }> = [
  { adapter: 'express', graphql: {} },
  { adapter: 'fastify', graphql: { context: (req: unknown, reply: unknown) => ({ req, reply }) } },
];

describe.each(targets)('GraphQL resolvers, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  describe.each(platforms)('on $adapter', ({ adapter, graphql }) => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startGraphqlApp({
        redis,
        options: { keyPrefix: uniqueName('graphql') },
        providers,
        adapter,
        graphql,
      });
    });
    afterAll(() => app.close());
    const query = (text: string, headers?: Record<string, string>) => postQuery(app, text, headers);

    it('gives `key` the HTTP request behind the GraphQL context and the execution context; a bucket per key', async () => {
      const [a, b] = [uniqueName('key-a'), uniqueName('key-b')];
      keyCalls.length = 0;
      const first = await query('{ items(first: 5) }', { 'x-api-key': a });
      expect(first.body).toEqual({ data: { items: ['item-0', 'item-1', 'item-2', 'item-3', 'item-4'] } });
      expect(keyCalls).toEqual([{ method: 'POST', url: '/graphql', apiKey: a, type: 'graphql', first: 5 }]);
      // a's 5 tokens are gone; b has a bucket of its own.
      expect(errorCodes(await query('{ items }', { 'x-api-key': a }))).toEqual(['TOO_MANY_REQUESTS']);
      expect((await query('{ items(first: 5) }', { 'x-api-key': b })).body.data).toEqual({ items: expect.any(Array) });
      expect(errorCodes(await query('{ items }', { 'x-api-key': b }))).toEqual(['TOO_MANY_REQUESTS']);
    });

    it.each(RATE_KINDS)(
      'answers a refusal of a $text with a GraphQL error naming the limit, Retry-After on the HTTP response, no caller key',
      async (rate) => {
        const field = `${rate.defaultsKey}Items`;
        const limit = `gql-${rate.kind}`;
        const secret = `sk_live_SECRET123${uniqueName('')}`;
        const before = runs.items;
        await query(`{ ${field}(first: 5) }`, { 'x-api-key': secret });
        const refused = await query(`{ ${field} }`, { 'x-api-key': secret });
        expect(runs.items - before).toBe(1);
        expect(refused.status).toBe(200);
        expect(refused.body.data).toBeNull();
        const error = onlyError(refused);
        expect(error.message).toBe(`Rate limit "${limit}" exceeded.`);
        expect(error.path).toEqual([field]);
        expect(error.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', limit, kind: rate.kind });
        const seconds = secondsUpTo(rate, 59, 60_000);
        expect(String(error.extensions.retryAfter)).toMatch(new RegExp(`^${seconds}$`));
        expect(refused.headers['retry-after']).toBe(String(error.extensions.retryAfter));
        expect(refused.headers['ratelimit-policy']).toBe(`"${limit}";q=5;w=60`);
        expect(refused.headers['ratelimit']).toMatch(new RegExp(`^"${limit}";r=0;t=${seconds}$`));
        // The key is hashed before it goes anywhere: not in the errors, the body or the headers.
        for (const place of [refused.text, JSON.stringify(refused.headers)]) {
          expect(place).not.toContain('SECRET123');
          expect(place).not.toContain(secret);
        }
      },
    );

    it("takes tokens worked out from the resolver's arguments: a query asking for more costs more", async () => {
      const headers = { 'x-api-key': uniqueName('cost') };
      const before = runs.items;
      const answers = [];
      // 5 tokens: 1 + 1, then 4 (3 left: refused), 3 (admitted, 0 left), 1 (refused).
      for (const text of [
        '{ items }',
        '{ items(first: 1) }',
        '{ items(first: 4) }',
        '{ items(first: 3) }',
        '{ items }',
      ]) {
        answers.push(await query(text, headers));
      }
      expect(answers.map((a) => errorCodes(a)[0] ?? 'ok')).toEqual([
        'ok',
        'ok',
        'TOO_MANY_REQUESTS',
        'ok',
        'TOO_MANY_REQUESTS',
      ]);
      expect(answers[3].body.data).toEqual({ items: ['item-0', 'item-1', 'item-2'] });
      expect(runs.items - before).toBe(3);
      // The one asking for 4 with 3 left waits for one token only.
      expect(answers[2].body.errors![0].extensions.retryAfter).toBeLessThanOrEqual(60);
    });

    it('limits every field call: aliases of one limited query in one request each take a token', async () => {
      const before = runs.once;
      const answer = await query('{ a: once b: once c: once }');
      expect(runs.once - before).toBe(2);
      expect(answer.body.data).toBeNull();
      expect(errorCodes(answer)).toEqual(['TOO_MANY_REQUESTS']);
      expect(answer.body.errors![0].extensions).toMatchObject({ limit: 'gql-once' });
    });

    it('holds a @Semaphore slot for the mutation: a second at the same time is refused, the next admitted', async () => {
      const before = runs.exports.finished;
      const slow = query('mutation { export(ms: 400) }');
      // The first has its slot before the second asks.
      await waitUntil('the first export runs', () => runs.exports.now === 1);
      const refused = await query('mutation { export(ms: 1) }');
      expect((await slow).body).toEqual({ data: { export: 'exported' } });
      const error = onlyError(refused);
      expect(error.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', limit: 'gql-export', kind: 'semaphore' });
      // A semaphore knows no time to retry at.
      expect(error.extensions).not.toHaveProperty('retryAfter');
      expect(refused.headers).not.toHaveProperty('retry-after');
      expect(runs.exports.peak).toBe(1);
      // Given back once the first answer was sent.
      await waitUntil(
        'the slot is given back',
        async () => errorCodes(await query('mutation { export(ms: 1) }')).length === 0,
      );
      expect(runs.exports.finished - before).toBe(2);
    });

    it('answers a refused service method called from an unlimited resolver with the same GraphQL error', async () => {
      const before = runs.reports;
      expect((await query('{ report }')).body).toEqual({ data: { report: 'report' } });
      const refused = await query('{ report }');
      expect(runs.reports - before).toBe(1);
      const error = onlyError(refused);
      expect(error.extensions.code).not.toBe('INTERNAL_SERVER_ERROR');
      expect(error).toMatchObject({ message: 'Rate limit "gql-reports" exceeded.', path: ['report'] });
      expect(error.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', limit: 'gql-reports', kind: 'token-bucket' });
      expect(error.extensions.retryAfter).toBeGreaterThanOrEqual(59);
      expect(refused.headers['retry-after']).toBe(String(error.extensions.retryAfter));
    });

    it('applies a class-level bucket to each query of the resolver, shared; @SkipLimits() exempts one', async () => {
      const [plan, free] = [runs.plan, runs.free];
      const answers = [];
      for (const text of ['{ planA }', '{ planB }', '{ planA }', '{ planB }']) answers.push(await query(text));
      expect(answers.map((a) => errorCodes(a)[0] ?? 'ok')).toEqual([
        'ok',
        'ok',
        'TOO_MANY_REQUESTS',
        'TOO_MANY_REQUESTS',
      ]);
      expect(answers[2].body.errors![0].extensions).toMatchObject({ limit: 'gql-plan' });
      expect(runs.plan - plan).toBe(2);
      for (let i = 0; i < 4; i++) expect((await query('{ planFree }')).body).toEqual({ data: { planFree: 'free' } });
      expect(runs.free - free).toBe(4);
    });

    it('limits a resolver method once per call, not twice: capacity 2 admits exactly 2 calls, with TokenBucketGuard too', async () => {
      // The aliases test took from `once`: a fresh app (key prefix) has fresh buckets.
      const fresh = await startGraphqlApp({
        redis,
        options: { keyPrefix: uniqueName('graphql-once') },
        providers,
        adapter,
        graphql,
      });
      try {
        for (const field of ['once', 'guarded'] as const) {
          const before = runs[field];
          const codes = [];
          for (let i = 0; i < 4; i++) codes.push(errorCodes(await postQuery(fresh, `{ ${field} }`))[0] ?? 'ok');
          expect({ field, codes }).toEqual({ field, codes: ['ok', 'ok', 'TOO_MANY_REQUESTS', 'TOO_MANY_REQUESTS'] });
          expect(runs[field] - before).toBe(2);
        }
      } finally {
        await fresh.close();
      }
    });
  });
});

describe.each(targets)('GraphQL on Fastify with the default context, $name Redis', (target) => {
  const { client } = useClients(target);
  it('refuses with the same GraphQL error, and sets Retry-After through Apollo Server, having no reply to set it on', async () => {
    const app = await startGraphqlApp({
      redis: client(),
      options: { keyPrefix: uniqueName('graphql-fastify') },
      providers,
      adapter: 'fastify',
    });
    try {
      const headers = { 'x-api-key': uniqueName('fastify-default') };
      const before = runs.items;
      expect((await postQuery(app, '{ items(first: 5) }', headers)).body.data).toEqual({ items: expect.any(Array) });
      const refused = await postQuery(app, '{ items }', headers);
      expect(runs.items - before).toBe(1);
      const error = onlyError(refused);
      expect(error.extensions).toMatchObject({ code: 'TOO_MANY_REQUESTS', limit: 'gql-items', kind: 'token-bucket' });
      expect(error.extensions.retryAfter).toBeGreaterThanOrEqual(59);
      expect(refused.headers['retry-after']).toBe(String(error.extensions.retryAfter));
      // Apollo reads the `http` extension and leaves it out of the answer.
      expect(error.extensions).not.toHaveProperty('http');
      // The RateLimit fields need the reply: they come with the context that has it.
      expect(refused.headers).not.toHaveProperty('ratelimit');
    } finally {
      await app.close();
    }
  });
});

/** A Cluster client whose only seed node is a loopback port nothing listens on: it never gets a slot map. */
async function unreachableCluster(): Promise<Cluster> {
  const standalone = await unreachableRedis();
  const { port } = standalone.options;
  standalone.disconnect();
  const cluster = new Cluster([{ host: '127.0.0.1', port }], { clusterRetryStrategy: () => null });
  cluster.on('error', () => undefined);
  return cluster;
}

describe.each(['standalone', 'cluster'] as const)('GraphQL resolvers when Redis is unreachable (%s client)', (kind) => {
  it("answers SERVICE_UNAVAILABLE with whenRedisFails 'reject', for a resolver and for a service method it calls", async () => {
    const redis = kind === 'standalone' ? await unreachableRedis() : await unreachableCluster();
    const app = await startGraphqlApp({
      redis,
      options: {
        keyPrefix: uniqueName('graphql'),
        whenRedisFails: 'reject',
        defaults: { tokenBucket: { commandTimeout: 200 } },
      },
      providers,
    });
    try {
      const [items, reports] = [runs.items, runs.reports];
      for (const [text, limit] of [
        ['{ items }', 'gql-items'],
        ['{ report }', 'gql-reports'],
      ]) {
        const answer = await postQuery(app, text, { 'x-api-key': 'sk_live_SECRET123' });
        const error = onlyError(answer);
        expect(error.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE', limit, kind: 'token-bucket' });
        expect(error.extensions).not.toHaveProperty('retryAfter');
        // gql-items is keyed by x-api-key: the key is no more in this answer than in a refusal.
        expect(answer.text).not.toContain('SECRET123');
      }
      expect([runs.items - items, runs.reports - reports]).toEqual([0, 0]);
    } finally {
      await app.close();
      await closeClient(redis);
    }
  });
});
