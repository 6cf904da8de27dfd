/**
 * Which library files one limited request runs through. V8's precise coverage counts every
 * function call: it is reset after a warm-up request by the same caller, then read after one
 * more, so start-up code and the first call of a key are not counted. Measured this way the
 * path took 19 files at db0322c (8 of them in lib/nest), 25 (11) once the pipeline and the
 * events were in, and 21 (7) since the transport files were merged: the rest is the core
 * limiters and the Redis store, one concern a file. A handler with token buckets only goes
 * through the guard, with no interceptor: 14 (6). The circuit breaker (issue 12) adds one
 * file to each: 22 and 15; the client adapter (store/redis/clients/ioredis.ts, issue 14) one
 * more: 23 (6) and 16 (5). With one descriptor per kind (issue 19) what a request does of
 * each kind is in its kind's file: kinds/semaphore.kind.ts for the slot, and for the bucket
 * kinds/rate-kind.ts (what every rate kind does through core's RateLimiter) and
 * kinds/token-bucket.kind.ts (its own RateLimit figures): 26 (9) and 18 (7).
 */
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import { Controller, Get, type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import { targets, uniqueName, useClients } from '../../harness/redis-targets';
import { sleep } from '../../harness/timing';
import { adapters, startHttpApp } from '../../harness/nest/limited-app';

const LIB = path.resolve(__dirname, '../../../lib') + path.sep;
const bucketName = uniqueName('path-bucket');
const semaphoreName = uniqueName('path-sem');

@Controller('path')
class PathController {
  @Get()
  @TokenBucket({
    name: bucketName,
    capacity: 1000,
    refillFrequency: 1,
    refillAmount: 1000,
    key: (req: { headers: Record<string, unknown> }) => String(req.headers['x-api-key']),
  })
  @Semaphore({
    name: semaphoreName,
    capacity: 5,
    key: (req: { headers: Record<string, unknown> }) => String(req.headers['x-api-key']),
  })
  get() {
    return { ok: true };
  }
}

@Controller('bucket-only')
class BucketOnlyController {
  @Get()
  @TokenBucket({
    name: `${bucketName}-only`,
    capacity: 1000,
    refillFrequency: 1,
    refillAmount: 1000,
    key: (req: { headers: Record<string, unknown> }) => String(req.headers['x-api-key']),
  })
  get() {
    return { ok: true };
  }
}

/** Library files with at least one function that ran since the last reset. */
async function filesRun(session: Session): Promise<string[]> {
  const { result } = await session.post('Profiler.takePreciseCoverage');
  const files = new Set<string>();
  for (const script of result) {
    const file = script.url.startsWith('file://') ? new URL(script.url).pathname : script.url;
    if (!file.startsWith(LIB)) continue;
    // The first range covers the whole script (its top level ran at load); count functions only.
    const ran = script.functions.filter((f) => f.functionName !== '' && f.ranges[0].count > 0);
    if (process.env.PATH_FUNCTIONS) console.log(path.relative(LIB, file), ran.map((f) => f.functionName).join(' '));
    if (ran.length) files.add(path.relative(LIB, file));
  }
  return [...files].sort();
}

describe.each(targets)('$name', (target) => {
  const { client } = useClients(target);

  describe.each(adapters)('%s', (adapter) => {
    let app: INestApplication;
    beforeAll(async () => {
      app = await startHttpApp(adapter, { redis: client(), controllers: [PathController, BucketOnlyController] });
    });
    afterAll(() => app.close());

    async function filesOfOneRequest(path: string): Promise<string[]> {
      const session = new Session();
      session.connect();
      try {
        await session.post('Profiler.enable');
        await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
        const server = app.getHttpServer();
        await request(server).get(path).set('x-api-key', 'warm-up').expect(200);
        await session.post('Profiler.takePreciseCoverage');
        // Timers run meanwhile too, some left by earlier spec files in this jest worker (a
        // memory store's sweep, a permit's renewal): a file counts only if it ran in each of
        // three requests, and not as long again with no request (so a file a request shares
        // with such a timer may go uncounted: the bounds below are upper bounds).
        let files: string[] | undefined;
        for (let i = 0; i < 3; i++) {
          const started = performance.now();
          await request(server).get(path).set('x-api-key', 'warm-up').expect(200);
          const ran = await filesRun(session);
          await sleep(performance.now() - started);
          const idle = new Set(await filesRun(session));
          files = (files ?? ran).filter((f) => ran.includes(f) && !idle.has(f));
        }
        // Printed so the list in the commit message is the measured one.
        console.log(`${target.name}/${adapter} ${path}: ${files!.length} files\n  ${files!.join('\n  ')}`);
        return files!;
      } finally {
        await session.post('Profiler.stopPreciseCoverage');
        session.disconnect();
      }
    }

    it('a request with a keyed token bucket and a semaphore runs through at most 26 library files, 9 of them in lib/nest', async () => {
      const files = await filesOfOneRequest('/path');
      expect(files).toContain('nest/pipeline/admission.ts');
      expect(files.filter((f) => f.startsWith('nest/')).length).toBeLessThanOrEqual(9);
      expect(files.length).toBeLessThanOrEqual(26);
    });

    it('a request with a keyed token bucket only goes through the guard: at most 18 library files, 7 in lib/nest', async () => {
      const files = await filesOfOneRequest('/bucket-only');
      expect(files).toContain('nest/transport/token-bucket.guard.ts');
      expect(files).not.toContain('nest/transport/limits.interceptor.ts');
      expect(files.filter((f) => f.startsWith('nest/')).length).toBeLessThanOrEqual(7);
      expect(files.length).toBeLessThanOrEqual(18);
    });
  });
});
