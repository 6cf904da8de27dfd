/**
 * LimitsInterceptor sits on the controllers that declare a limit, not on the whole app:
 * other controllers skip it, it runs before a controller's own interceptors, and a limited
 * controller needs no wiring of its own, whichever module it lives in.
 */
import {
  Controller,
  Get,
  Injectable,
  Logger,
  Module,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type INestApplication,
  type NestInterceptor,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Observable } from 'rxjs';
import request from 'supertest';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import { LimiterError } from '../../../lib/core/errors';
import { LimitsInterceptor } from '../../../lib/nest/transport/limits.interceptor';
import { LimitersModule } from '../../../lib/nest/limiters.module';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { InFlight } from '../../harness/nest/limited-app';

/** The requests a controller's own interceptor saw, by path. */
const seenByControllerInterceptor: string[] = [];

@Injectable()
class RequestRecorder implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    seenByControllerInterceptor.push(context.switchToHttp().getRequest<{ path: string }>().path);
    return next.handle();
  }
}

@Controller('unlimited')
class UnlimitedController {
  @Get()
  plain(): string {
    return 'plain';
  }
}

@Controller()
@UseInterceptors(RequestRecorder)
class MixedController {
  @Get('plain')
  plain(): string {
    return 'plain';
  }

  @Get('limited')
  @TokenBucket({ name: 'scope-limited', capacity: 1, refillFrequency: 60_000, maxSleep: 0 })
  @Semaphore({ name: 'scope-limited', capacity: 1 })
  limited(): string {
    return 'limited';
  }
}

/** A feature module that does not import LimitersModule, under a root that is not global. */
@Module({ controllers: [MixedController, UnlimitedController] })
class FeatureModule {}

const [standalone] = targets;

describe('LimitsInterceptor on limited handlers only, standalone Redis', () => {
  const { client } = useClients(standalone);
  const redis = client();
  let app: INestApplication;
  let intercepted: jest.SpyInstance;

  beforeEach(async () => {
    seenByControllerInterceptor.length = 0;
    intercepted = jest.spyOn(LimitsInterceptor.prototype, 'intercept');
    const moduleRef = await Test.createTestingModule({
      imports: [LimitersModule.forRoot({ redis, keyPrefix: uniqueName('scope') }), FeatureModule],
    }).compile();
    app = moduleRef.createNestApplication();
    app.useLogger(false);
    await app.init();
  });

  afterEach(async () => {
    intercepted.mockRestore();
    await app.close();
  });

  it('leaves a controller without limits out of it', async () => {
    await request(app.getHttpServer()).get('/unlimited').expect(200, 'plain');
    expect(intercepted).not.toHaveBeenCalled();
  });

  it('lets an unlimited route of a limited controller through untouched', async () => {
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/plain').expect(200, 'plain');
    expect(intercepted).toHaveBeenCalledTimes(3);
  });

  it('runs it once for a handler with both limits', async () => {
    await request(app.getHttpServer()).get('/limited').expect(200, 'limited');
    expect(intercepted).toHaveBeenCalledTimes(1);
  });

  it('limits a controller of a module that does not import LimitersModule', async () => {
    await request(app.getHttpServer()).get('/limited').expect(200);
    await request(app.getHttpServer()).get('/limited').expect(429);
  });

  it("runs before the controller's own interceptors, which never see a refused request", async () => {
    await request(app.getHttpServer()).get('/limited').expect(200);
    await request(app.getHttpServer()).get('/limited').expect(429);
    await request(app.getHttpServer()).get('/plain').expect(200);
    expect(seenByControllerInterceptor).toEqual(['/limited', '/plain']);
  });
});

@Injectable()
class SlowService {
  readonly inFlight = new InFlight();

  @Semaphore({ name: 'scope-unimported', capacity: 1 })
  async work(): Promise<void> {
    await this.inFlight.during(50);
  }
}

describe('limits declared in an app that does not import LimitersModule', () => {
  it('still starts, runs the methods without limits, and warns once why', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const moduleRef = await Test.createTestingModule({
        providers: [SlowService],
        controllers: [MixedController],
      }).compile();
      const app = moduleRef.createNestApplication();
      app.useLogger(false);
      await app.init();
      const service = app.get(SlowService);
      await Promise.all([service.work(), service.work()]);
      expect(service.inFlight.peak).toBe(2);
      for (let i = 0; i < 2; i++) await request(app.getHttpServer()).get('/limited').expect(200);
      const why = warn.mock.calls.filter(([message]) => String(message).includes('LimitersModule.forRoot'));
      expect(why).toHaveLength(1);
      await app.close();
    } finally {
      warn.mockRestore();
    }
  });
});

describe('limits that could not apply', () => {
  it('fail when the class is defined: two semaphores on one method, a static method, a getter', () => {
    expect(() => {
      class TwoSemaphores {
        @Semaphore({ capacity: 1 })
        @Semaphore({ capacity: 2 })
        render(): void {}
      }
      return TwoSemaphores;
    }).toThrow('@Semaphore is applied twice to TwoSemaphores.render');
    expect(() => {
      class OnStatic {
        @Semaphore({ capacity: 1 })
        static render(): void {}
      }
      return OnStatic;
    }).toThrow('@Semaphore is on the static method OnStatic.render, which is never limited');
    expect(() => {
      class OnGetter {
        @TokenBucket({ capacity: 1, refillFrequency: 1_000 })
        get report(): string {
          return '';
        }
      }
      return OnGetter;
    }).toThrow('@TokenBucket is on OnGetter.report, which is not a method');
    expect(() => {
      class Fine {
        @Semaphore({ capacity: 1 })
        render(): void {}
      }
      return Fine;
    }).not.toThrow(LimiterError);
  });
});
