import { HttpException, Injectable, Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Observable, Subject, firstValueFrom, lastValueFrom, of, timer } from 'rxjs';
import { InvalidOptionError, MaxSleepExceededError, RedisUnavailableError } from '../../../lib';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import { LimitsInterceptor } from '../../../lib/nest/transport/limits.interceptor';
import { LIMITS_ADMISSION } from '../../../lib/nest/limits.constants';
import { RpcException } from '@nestjs/microservices';
import { WsException } from '@nestjs/websockets';
import { LimitersService } from '../../../lib/nest/limiters.service';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { closeClient } from '../../harness/connect';
import { RATE_KINDS, secondsUpTo, type RateKind } from '../../harness/rate-kinds';
import { now, sleep, waitUntil } from '../../harness/timing';
import { InFlight, startContext, unreachableRedis, type AppParts } from '../../harness/nest/limited-app';

@Injectable()
class ReportService {
  readonly inFlight = new InFlight();

  @Semaphore({ capacity: 3 })
  async render(ms: number): Promise<string> {
    await this.inFlight.during(ms);
    return 'rendered';
  }

  @Semaphore({ capacity: 1, maxSleep: 2_000 })
  async failing(): Promise<never> {
    await sleep(20);
    throw new Error('render failed');
  }

  @Semaphore({ name: 'export', capacity: 1, maxSleep: 5_000 })
  stream(): Observable<number> {
    this.inFlight.enter();
    return timer(0, 20);
  }

  // A token first, then a slot: a subscriber gone while it waits for its token must not
  // go on to queue for (or hold) the slot.
  @TokenBucket({ name: 'paced-rate', capacity: 1, refillFrequency: 600, maxSleep: 5_000 })
  @Semaphore({ name: 'paced-slots', capacity: 1, maxSleep: 5_000 })
  paced(): Observable<number> {
    return timer(0, 20);
  }

  @Semaphore({ name: 'export-finite', capacity: 2 })
  finite(source: Subject<number>): Observable<number> {
    return source.asObservable();
  }
}

@Injectable()
class TenantService {
  readonly inFlight = new InFlight();

  // Numeric ids are common; anything else that is not a string is a mistake.
  @TokenBucket({ capacity: 2, refillFrequency: 60_000, maxSleep: 0, key: (user: { id: never }) => user.id })
  async forUser(user: { id: unknown }): Promise<unknown> {
    return user.id;
  }

  @Semaphore('jobs')
  async job(ms: number): Promise<void> {
    await this.inFlight.during(ms);
  }

  @Semaphore('jobs', { key: (tenant: string) => tenant })
  async tenantJob(tenant: string, ms: number): Promise<void> {
    await this.inFlight.during(ms);
  }
}

/** What every rate kind does on service methods, limited by `rate`'s decorator. */
function rateService(rate: RateKind) {
  const limit = rate.decorator;
  @Injectable()
  class RateService {
    readonly inFlight = new InFlight();

    @limit({ ...rate.per(2, 60_000), maxSleep: 0, key: (tenant: string) => tenant })
    async search(tenant: string, query: string): Promise<string> {
      return `${tenant}:${query}`;
    }

    // Two rates at once, taken in the order written: 3 a minute, then 2 a minute.
    @limit({ name: 'wide', ...rate.per(3, 60_000), maxSleep: 0 })
    @limit({ name: 'narrow', ...rate.per(2, 60_000), maxSleep: 0 })
    async twoRates(): Promise<string> {
      return 'ok';
    }

    // Rate and concurrency together: 4 calls a minute, 2 at a time.
    @limit({ ...rate.per(4, 60_000), maxSleep: 0 })
    @Semaphore({ capacity: 2 })
    async importFile(ms: number): Promise<void> {
      await this.inFlight.during(ms);
    }
  }
  return RateService;
}

const rateServices = new Map(RATE_KINDS.map((rate) => [rate, rateService(rate)]));

describe.each(targets)('@Semaphore and rate limits on service methods, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();
  const start = (parts: Partial<AppParts> = {}) =>
    startContext({
      redis,
      providers: [ReportService, TenantService],
      ...parts,
      options: { keyPrefix: uniqueName('nest'), semaphores: { jobs: { capacity: 2 } }, ...parts.options },
    });

  it('never runs more than capacity calls of a service method at once', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    const results = await Promise.all(Array.from({ length: 12 }, () => reports.render(150)));
    expect(results).toEqual(Array(12).fill('rendered'));
    expect(reports.inFlight.peak).toBe(3);
    await app.close();
  });

  it('names an inline limiter after its class and method', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    const limiters = app.get(LimitersService);
    const running = reports.render(300);
    const semaphore = limiters.semaphore({ name: 'ReportService.render', capacity: 3 });
    await waitUntil('the call holds a slot', async () => (await semaphore.state()).holders.length === 1);
    await running;
    expect((await semaphore.state()).holders).toEqual([]);
    await app.close();
  });

  it('gives the slot back when the method throws', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    await expect(reports.failing()).rejects.toThrow('render failed');
    // With capacity 1 and a slot kept, the second call would time out instead.
    await expect(reports.failing()).rejects.toThrow('render failed');
    const semaphore = app.get(LimitersService).semaphore({ name: 'ReportService.failing', capacity: 1 });
    expect((await semaphore.state()).holders).toEqual([]);
    await app.close();
  });

  it('holds the slot of an Observable method from subscription until unsubscription', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    const semaphore = app.get(LimitersService).semaphore({ name: 'export', capacity: 1 });
    const stream = reports.stream();
    expect(stream).toBeInstanceOf(Observable);
    await sleep(100);
    // Cold: nothing ran and nothing is held before someone subscribes.
    expect(reports.inFlight.now).toBe(0);
    expect((await semaphore.state()).holders).toEqual([]);
    const first = stream.subscribe();
    await waitUntil('the subscription holds the slot', async () => (await semaphore.state()).holders.length === 1);
    const second = stream.subscribe();
    await waitUntil('the second subscription queues', async () => (await semaphore.state()).waiters.length === 1);
    expect(reports.inFlight.now).toBe(1);
    first.unsubscribe();
    await waitUntil('the second subscription runs', () => reports.inFlight.now === 2);
    expect((await semaphore.state()).holders).toHaveLength(1);
    second.unsubscribe();
    await waitUntil('the slot is free', async () => (await semaphore.state()).holders.length === 0);
    await app.close();
  });

  it('gives up the wait of an Observable method unsubscribed before a slot frees up', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    const semaphore = app.get(LimitersService).semaphore({ name: 'export', capacity: 1 });
    const first = reports.stream().subscribe();
    await waitUntil(
      'the first subscription holds the slot',
      async () => (await semaphore.state()).holders.length === 1,
    );
    const second = reports.stream().subscribe();
    await waitUntil('the second subscription queues', async () => (await semaphore.state()).waiters.length === 1);
    second.unsubscribe();
    // Well before its maxSleep (5 s) would have ended the wait anyway.
    await waitUntil(
      'the second subscription left the queue',
      async () => (await semaphore.state()).waiters.length === 0,
      2_000,
    );
    first.unsubscribe();
    await waitUntil('the slot is free', async () => (await semaphore.state()).holders.length === 0);
    // The one that gave up never ran, and never took the slot the first one left.
    await sleep(100);
    expect(reports.inFlight.now).toBe(1);
    expect((await semaphore.state()).holders).toEqual([]);
    await app.close();
  });

  it('gives up an Observable method left while it waits for its token, before it queues for its slot', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    const slots = app.get(LimitersService).semaphore({ name: 'paced-slots', capacity: 1 });
    const first = reports.paced().subscribe();
    await waitUntil('the first subscription holds the slot', async () => (await slots.state()).holders.length === 1);
    // The bucket is empty now: the second one's token is due about 600 ms from here.
    const second = reports.paced().subscribe();
    await sleep(100);
    second.unsubscribe();
    // Watched past the moment its token came due: it must never appear in the slot's queue.
    let peakQueued = 0;
    for (const until = now() + 1_200; now() < until; await sleep(20)) {
      peakQueued = Math.max(peakQueued, (await slots.state()).waiters.length);
    }
    expect(peakQueued).toBe(0);
    first.unsubscribe();
    await waitUntil('the slot is free', async () => (await slots.state()).holders.length === 0);
    await app.close();
  });

  it('gives the slot of an Observable method back when it completes or errors', async () => {
    const app = await start();
    const reports = app.get(ReportService);
    const semaphore = app.get(LimitersService).semaphore({ name: 'export-finite', capacity: 2 });
    const completing = new Subject<number>();
    const erroring = new Subject<number>();
    const completed = lastValueFrom(reports.finite(completing));
    const errored = firstValueFrom(reports.finite(erroring)).catch((e: Error) => e.message);
    // The slot shows in Redis a moment before the wrapper subscribes to the source; a Subject
    // completed before that would look empty, so wait for both to be subscribed as well.
    await waitUntil('both hold a slot', async () => (await semaphore.state()).holders.length === 2);
    await waitUntil('both sources are subscribed', async () => completing.observed && erroring.observed);
    completing.next(7);
    completing.complete();
    erroring.error(new Error('source failed'));
    expect(await completed).toBe(7);
    expect(await errored).toBe('source failed');
    await waitUntil('both slots are free', async () => (await semaphore.state()).holders.length === 0);
    await app.close();
  });

  it('takes a number from key as its decimal string, and refuses a key that is neither', async () => {
    const app = await start();
    const tenants = app.get(TenantService);
    await tenants.forUser({ id: 7 });
    await tenants.forUser({ id: 7 });
    await expect(tenants.forUser({ id: 7 })).rejects.toBeInstanceOf(MaxSleepExceededError);
    // The string "7" is the same caller; user 8 has a bucket of its own.
    await expect(tenants.forUser({ id: '7' })).rejects.toBeInstanceOf(MaxSleepExceededError);
    await expect(tenants.forUser({ id: 8 })).resolves.toBe(8);
    for (const id of [{}, ['7'], NaN, true, null]) {
      const error = await tenants.forUser({ id }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as InvalidOptionError).option).toBe('key');
      expect((error as Error).message).toContain('TenantService.forUser');
    }
    await app.close();
  });

  it('uses a semaphore registered in forRoot, and per key a copy of it', async () => {
    const app = await start();
    const tenants = app.get(TenantService);
    await Promise.all(Array.from({ length: 6 }, () => tenants.job(40)));
    expect(tenants.inFlight.peak).toBe(2);
    const limiters = app.get(LimitersService);
    const running = [tenants.tenantJob('acme', 300), tenants.tenantJob('acme', 300), tenants.tenantJob('globex', 300)];
    const acme = limiters.semaphore({ name: 'jobs', key: 'acme', capacity: 2 });
    // Counted in the jobs themselves: Redis may show the leases a moment before the jobs run.
    await waitUntil('three jobs run at once, above the shared capacity of 2', () => tenants.inFlight.now === 3);
    expect((await acme.state()).holders).toHaveLength(2);
    await Promise.all(running);
    await app.close();
  });
  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    const RateService = rateServices.get(rate)!;
    const startRate = () => start({ providers: [RateService] });

    it('gives each key its own limit', async () => {
      const app = await startRate();
      const tenants = app.get(RateService);
      await tenants.search('acme', 'a');
      await tenants.search('acme', 'b');
      const refused = await tenants.search('acme', 'c').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(MaxSleepExceededError);
      expect(refused).toMatchObject({ limiter: 'RateService.search', kind: rate.kind });
      // Another tenant's limit is still whole.
      await expect(tenants.search('globex', 'a')).resolves.toBe('globex:a');
      await expect(tenants.search('globex', 'b')).resolves.toBe('globex:b');
      await expect(tenants.search('globex', 'c')).rejects.toBeInstanceOf(MaxSleepExceededError);
      await app.close();
    });

    it('takes a token from each of two limits, in the order written', async () => {
      const app = await startRate();
      const tenants = app.get(RateService);
      await tenants.twoRates();
      await tenants.twoRates();
      // The narrow limit refuses the third call after the wide one gave it a token.
      const third = await tenants.twoRates().catch((e: unknown) => e);
      expect(third).toBeInstanceOf(MaxSleepExceededError);
      expect((third as MaxSleepExceededError).limiter).toBe('narrow');
      // Now the wide one is spent too, and refuses first.
      const fourth = await tenants.twoRates().catch((e: unknown) => e);
      expect((fourth as MaxSleepExceededError).limiter).toBe('wide');
      const { keyPrefix } = app.get(LimitersService).options;
      const left = (name: string, n: number) =>
        rate.remaining(rate.limiter(redis, { name, keyPrefix, ...rate.per(n, 60_000) }));
      expect(await left('wide', 3)).toBe(0);
      expect(await left('narrow', 2)).toBe(0);
      await app.close();
    });

    it('applies a rate limit and a semaphore on one method together', async () => {
      const app = await startRate();
      const tenants = app.get(RateService);
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => tenants.importFile(80)));
      const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(4);
      expect(refused).toHaveLength(2);
      expect(refused.every((e) => e instanceof MaxSleepExceededError)).toBe(true);
      expect(tenants.inFlight.peak).toBe(2);
      await app.close();
    });
  });
});

/** Handlers as a microservice or WebSocket gateway would have them, limited by `rate`'s decorator: no HTTP anywhere. */
function rateHandlers(rate: RateKind) {
  const limit = rate.decorator;
  /** An RPC handler: one order a minute per customer. */
  class OrdersHandler {
    @limit({ ...rate.per(1, 60_000), maxSleep: 0, key: (data: { customer: string }) => data.customer })
    placeOrder(data: { customer: string }): string {
      return `placed for ${data.customer}`;
    }
  }
  /** A WebSocket gateway's message handler: two messages a minute. */
  class SocketHandler {
    @limit({ ...rate.per(2, 60_000), maxSleep: 0 })
    onMessage(): void {}
  }
  return { OrdersHandler, SocketHandler };
}

describe.each(targets)('Limits on handlers outside HTTP, $name Redis', (target) => {
  const { client } = useClients(target);
  const redis = client();

  describe.each(RATE_KINDS)('every rate kind: $text', (rate) => {
    const { OrdersHandler, SocketHandler } = rateHandlers(rate);

    it('limits an RPC handler and refuses with an RpcException carrying the limit, not an HTTP answer', async () => {
      const app = await startContext({ redis, options: { keyPrefix: uniqueName('rpc') } });
      // The decorators attach the interceptor to handlers; here it is called by hand, on the app's pipeline.
      const interceptor = new LimitsInterceptor(app.get(LIMITS_ADMISSION));
      const call = (customer: string) => {
        const context = new ExecutionContextHost([{ customer }], OrdersHandler, OrdersHandler.prototype.placeOrder);
        context.setType('rpc');
        const handler = { handle: () => of(new OrdersHandler().placeOrder({ customer })) };
        return lastValueFrom(interceptor.intercept(context, handler));
      };
      await expect(call('acme')).resolves.toBe('placed for acme');
      const refused = await call('acme').catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RpcException);
      expect(refused).not.toBeInstanceOf(HttpException);
      const error = (refused as RpcException).getError() as { retryAfter: number };
      expect(error).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        message: 'Rate limit "OrdersHandler.placeOrder" exceeded.',
        limit: 'OrdersHandler.placeOrder',
        kind: rate.kind,
      });
      // Whole seconds until the minute is over (and, for a late kind, the part of a period after it).
      expect(String(error.retryAfter)).toMatch(new RegExp(`^${secondsUpTo(rate, 59, 60_000)}$`));
      await expect(call('globex')).resolves.toBe('placed for globex');
      await app.close();
    });

    it('limits every message of a WebSocket client, not only its first', async () => {
      const app = await startContext({ redis, options: { keyPrefix: uniqueName('ws') } });
      const interceptor = new LimitsInterceptor(app.get(LIMITS_ADMISSION));
      // A gateway handler's arguments are (client, data): the client is the same object for
      // every message of a connection.
      const client = { id: 'socket-1' };
      let handled = 0;
      const message = () => {
        const context = new ExecutionContextHost(
          [client, { customer: 'acme' }],
          SocketHandler,
          SocketHandler.prototype.onMessage,
        );
        context.setType('ws');
        return lastValueFrom(interceptor.intercept(context, { handle: () => of(++handled) }));
      };
      await expect(message()).resolves.toBe(1);
      await expect(message()).resolves.toBe(2);
      const refused = await message().catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(WsException);
      expect((refused as WsException).getError()).toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        limit: 'SocketHandler.onMessage',
        kind: rate.kind,
        retryAfter: expect.any(Number),
      });
      expect(handled).toBe(2);
      await app.close();
    });

    it("names an inherited handler's inline limiter after the class it is called on", async () => {
      const app = await startContext({ redis, options: { keyPrefix: uniqueName('rpc') } });
      const interceptor = new LimitsInterceptor(app.get(LIMITS_ADMISSION));
      class RepeatOrdersHandler extends OrdersHandler {}
      const call = (owner: typeof OrdersHandler) => {
        const context = new ExecutionContextHost([{ customer: 'acme' }], owner, OrdersHandler.prototype.placeOrder);
        context.setType('rpc');
        return lastValueFrom(interceptor.intercept(context, { handle: () => of('placed') }));
      };
      // One token each: the two classes share the handler function, not its limit.
      await expect(call(OrdersHandler)).resolves.toBe('placed');
      await expect(call(RepeatOrdersHandler)).resolves.toBe('placed');
      await expect(call(RepeatOrdersHandler)).rejects.toBeInstanceOf(RpcException);
      const { keyPrefix } = app.get(LimitersService).options;
      const left = (name: string) =>
        rate.remaining(rate.limiter(redis, { name, key: 'acme', keyPrefix, ...rate.per(1, 60_000) }));
      expect(await left('OrdersHandler.placeOrder')).toBe(0);
      expect(await left('RepeatOrdersHandler.placeOrder')).toBe(0);
      await app.close();
    });
  });
});

describe('@Semaphore on a service method when Redis is unreachable', () => {
  const options = { defaults: { semaphore: { commandTimeout: 200 } } };

  it('fails the call with RedisUnavailableError by default', async () => {
    const redis = await unreachableRedis();
    const app = await startContext({ redis, providers: [ReportService], options });
    const reports = app.get(ReportService);
    await expect(reports.render(1)).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(reports.inFlight.finished).toBe(0);
    await app.close();
    await closeClient(redis);
  });

  it("runs the call unlimited and logs a warning with whenRedisFails: 'allow'", async () => {
    const redis = await unreachableRedis();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const app = await startContext({
      redis,
      providers: [ReportService],
      options: { ...options, whenRedisFails: 'allow' },
    });
    const reports = app.get(ReportService);
    await expect(reports.render(1)).resolves.toBe('rendered');
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('ReportService.render'));
    warn.mockRestore();
    await app.close();
    await closeClient(redis);
  });
});
