/**
 * Set-up of the health specs: a Nest app with TerminusModule and a health controller using
 * LimitersHealthIndicator as an app would, and killing a test's own Redis server.
 */
import { Controller, Get, type INestApplication, type LoggerService } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { LimitersHealthIndicator, LimitersModule } from '../../../lib';
import type { LimitersModuleOptions } from '../../../lib/nest/limiters-options.interface';
import type { RedisServer } from '../redis-servers';
import { now, sleep } from '../timing';

@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly limiters: LimitersHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.limiters.isHealthy('limiters')]);
  }
}

/** An Express app answering GET /health; logs go to `logger`, or nowhere. */
export async function startHealthApp(
  options: LimitersModuleOptions,
  logger: LoggerService | false = false,
): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [TerminusModule, LimitersModule.forRoot(options)],
    controllers: [HealthController],
  }).compile();
  const app = moduleRef.createNestApplication();
  app.useLogger(process.env.LIMITERS_TEST_LOG ? console : logger);
  return app.init();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test reads the health answer's own shape
export async function getHealth(app: INestApplication): Promise<{ status: number; body: any }> {
  const { status, body } = await request(app.getHttpServer()).get('/health');
  return { status, body };
}

/** Polls GET /health until it answers `status`; resolves with that answer and the ms it took. */
export async function untilHealth(
  app: INestApplication,
  status: number,
  timeoutMs: number,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as getHealth
): Promise<{ answer: { status: number; body: any }; afterMs: number }> {
  const from = now();
  for (;;) {
    const answer = await getHealth(app);
    const afterMs = Math.round(now() - from);
    if (answer.status === status) return { answer, afterMs };
    if (afterMs > timeoutMs)
      throw new Error(`GET /health still answers ${answer.status} after ${afterMs} ms: ${JSON.stringify(answer.body)}`);
    await sleep(50);
  }
}

/** SIGKILL, as a crash: no goodbye to clients. Resolves once the process has exited. */
export async function killRedis(server: RedisServer): Promise<void> {
  const child = server.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Collects what the app logs, to count lines. */
export class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; context?: string }> = [];
  log(message: unknown, context?: string) {
    this.add('log', message, context);
  }
  warn(message: unknown, context?: string) {
    this.add('warn', message, context);
  }
  error(message: unknown, context?: string) {
    this.add('error', message, context);
  }
  debug(message: unknown, context?: string) {
    this.add('debug', message, context);
  }
  verbose(message: unknown, context?: string) {
    this.add('verbose', message, context);
  }
  fatal(message: unknown, context?: string) {
    this.add('fatal', message, context);
  }

  /** The lines LimitersModule logged at `level` that match `pattern`. */
  matching(level: string, pattern: RegExp): string[] {
    return this.lines
      .filter((l) => l.level === level && l.context === 'LimitersModule' && pattern.test(l.message))
      .map((l) => l.message);
  }

  private add(level: string, message: unknown, context?: string) {
    this.lines.push({ level, message: String(message), context });
  }
}
