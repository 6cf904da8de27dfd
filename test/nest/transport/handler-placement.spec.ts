/**
 * Handlers whose class declares token buckets only take their tokens in a guard,
 * with no LimitsInterceptor (Nest's interceptor chain costs a request more than the limit
 * does): the guard must still run after every other guard (key functions read what an auth
 * guard set), refuse before the controller's interceptors, and take one token per request.
 */
import {
  Controller,
  Get,
  Injectable,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import request from 'supertest';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import { LimitsInterceptor } from '../../../lib/nest/transport/limits.interceptor';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { adapters, startHttpApp } from '../../harness/nest/limited-app';

interface UserRequest {
  headers: Record<string, string | undefined>;
  user?: string;
}

/** Sets req.user from a header, as a passport guard would; runs before the limit's key. */
@Injectable()
class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<UserRequest>();
    req.user = req.headers['x-user'];
    return true;
  }
}

const seenByInterceptor: string[] = [];

@Injectable()
class Recorder implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    seenByInterceptor.push(context.switchToHttp().getRequest<{ url: string }>().url);
    return next.handle();
  }
}

const perUser = uniqueName('placement-user');
const classBucket = uniqueName('placement-class');
const mixedBucket = uniqueName('placement-mixed');
const userKey = (req: UserRequest) => req.user;

@Controller('user')
class PerUserController {
  // The auth guard written above the limit: its decorator applies after the limit's.
  @Get()
  @UseGuards(AuthGuard)
  @TokenBucket({ name: perUser, capacity: 1, refillFrequency: 60_000, maxSleep: 0, key: userKey })
  user(): string {
    return 'user';
  }
}

@Controller('bucket')
@UseInterceptors(Recorder)
@TokenBucket({ name: classBucket, capacity: 2, refillFrequency: 60_000, maxSleep: 0 })
class BucketOnlyController {
  @Get('a')
  a(): string {
    return 'a';
  }

  @Get('b')
  b(): string {
    return 'b';
  }
}

@Controller('mixed')
class MixedController {
  @Get()
  @TokenBucket({ name: mixedBucket, capacity: 2, refillFrequency: 60_000, maxSleep: 0 })
  @Semaphore({ name: uniqueName('placement-sem'), capacity: 1 })
  both(): string {
    return 'both';
  }
}

describe.each(targets)('$name', (target) => {
  const { client } = useClients(target);

  describe.each(adapters)('%s', (adapter) => {
    let app: INestApplication;
    let intercepted: jest.SpyInstance;
    beforeAll(async () => {
      intercepted = jest.spyOn(LimitsInterceptor.prototype, 'intercept');
      app = await startHttpApp(adapter, {
        redis: client(),
        options: { keyPrefix: uniqueName('placement') },
        controllers: [PerUserController, BucketOnlyController, MixedController],
        providers: [AuthGuard, Recorder],
      });
    });
    afterAll(async () => {
      intercepted.mockRestore();
      await app.close();
    });

    const get = (path: string, user?: string) => {
      const r = request(app.getHttpServer()).get(path);
      return (user ? r.set('x-user', user) : r).then((res) => res.status);
    };

    it('limits by a key the auth guard set, whatever order the guards are written in', async () => {
      const [alice, bob] = [uniqueName('alice'), uniqueName('bob')];
      expect(await get('/user', alice)).toBe(200);
      expect(await get('/user', alice)).toBe(429);
      // With the limit's guard first, req.user would be undefined: one shared key, and bob refused.
      expect(await get('/user', bob)).toBe(200);
    });

    it('takes tokens with no LimitsInterceptor, before the controller interceptors, one per request', async () => {
      seenByInterceptor.length = 0;
      intercepted.mockClear();
      // One class bucket of capacity 2 for both handlers.
      const statuses = [await get('/bucket/a'), await get('/bucket/b'), await get('/bucket/a')];
      expect(statuses).toEqual([200, 200, 429]);
      expect(intercepted).not.toHaveBeenCalled();
      expect(seenByInterceptor).toEqual(['/bucket/a', '/bucket/b']);
    });

    it('keeps LimitsInterceptor where a slot is held, and still takes one token per request', async () => {
      intercepted.mockClear();
      const statuses = [await get('/mixed'), await get('/mixed'), await get('/mixed')];
      expect(statuses).toEqual([200, 200, 429]);
      // The interceptor enters both limits, tokens then slot, as it always has.
      expect(intercepted).toHaveBeenCalledTimes(3);
    });
  });
});
