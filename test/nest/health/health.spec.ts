/**
 * LimitersHealthIndicator behind a real Terminus endpoint: 200 while every Redis master runs
 * the limiters' probe script, 503 with the cause soon after one is killed, 200 again once
 * it is back; and the probe fails for what fails a limit (an ACL user without EVALSHA).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { LimitersHealthIndicator } from '../../../lib';
import { connectAs, createUser, limiterUserRules } from '../../harness/acl-users';
import { restartRedis } from '../../harness/redis-servers';
import { clientTargets, useLimiterClients } from '../../harness/redis-targets';
import { useOwnCluster } from '../../harness/own-cluster';
import { useOwnRedis } from '../../harness/own-redis';
import { now } from '../../harness/timing';
import { startContext } from '../../harness/nest/limited-app';
import { getHealth, killRedis, startHealthApp, untilHealth } from '../../harness/nest/health-app';

// A busy 2-core machine: the promise is "within a few seconds", checked against this.
const DOWN_WITHIN_MS = 10_000;
const UP_AGAIN_WITHIN_MS = 15_000;
const SLACK_MS = 2_000;

describe.each(clientTargets)('$name: the health indicator', (target) => {
  const { client } = useLimiterClients(target);

  it('is up when every master answers the probe', async () => {
    const app = await startContext({ redis: client() });
    try {
      const masters = target.deployment === 'cluster' ? 3 : 1;
      await expect(app.get(LimitersHealthIndicator).isHealthy('limiters')).resolves.toEqual({
        limiters: { status: 'up', store: 'redis', masters },
      });
    } finally {
      await app.close();
    }
  });
});

describe('the health indicator on the in-memory store', () => {
  it('is always up, saying the limits are in memory', async () => {
    const app = await startContext({});
    try {
      await expect(app.get(LimitersHealthIndicator).isHealthy('limiters')).resolves.toEqual({
        limiters: { status: 'up', store: 'memory' },
      });
    } finally {
      await app.close();
    }
  });
});

describe('the health indicator with a Redis user who may not run scripts (own Redis)', () => {
  const { server, client } = useOwnRedis();
  const clients: ReturnType<typeof connectAs>[] = [];
  afterAll(() => Promise.all(clients.map((c) => c.quit().catch(() => undefined))));

  it('is down with what Redis refused: a limiter could not run either', async () => {
    const rules = limiterUserRules().filter((r) => r !== '+evalsha' && r !== '+eval');
    const user = await createUser(client(), rules);
    const app = await startContext({ redis: connectAs(server().port, user, clients) });
    try {
      const { limiters } = await app.get(LimitersHealthIndicator).isHealthy('limiters');
      expect(limiters).toEqual({ status: 'down', store: 'redis', message: expect.stringMatching(/NOPERM/) });
      expect(limiters.message).toMatch(/^127\.0\.0\.1:\d+: Redis refused to answer the health probe/);
    } finally {
      await app.close();
    }
  });
});

describe('the health indicator on a Redis that stops answering (own Redis)', () => {
  const { server, client } = useOwnRedis();
  afterAll(() => server().process.kill('SIGCONT'));

  it('is down within about its timeout, saying no answer came', async () => {
    const app = await startContext({ redis: client() });
    const health = app.get(LimitersHealthIndicator);
    try {
      await expect(health.isHealthy('limiters')).resolves.toMatchObject({ limiters: { status: 'up' } });
      // Stopped, not killed: the connection stays open and nothing answers on it.
      server().process.kill('SIGSTOP');
      const started = now();
      const { limiters } = await health.isHealthy('limiters', { timeout: 300 });
      const tookMs = now() - started;
      expect(limiters).toEqual({
        status: 'down',
        store: 'redis',
        message: `127.0.0.1:${server().port}: no answer within 300 ms`,
      });
      expect(tookMs).toBeGreaterThanOrEqual(290);
      expect(tookMs).toBeLessThan(300 + SLACK_MS);
    } finally {
      server().process.kill('SIGCONT');
      await app.close();
    }
  });
});

describe('GET /health on a standalone Redis of its own', () => {
  const { server } = useOwnRedis();
  let app: INestApplication;
  afterAll(() => app?.close());

  it('answers 200, then 503 with the cause soon after Redis is killed, then 200 once it is back', async () => {
    app = await startHealthApp({ redis: server().url });
    const up = await getHealth(app);
    expect(up).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok' }) });
    expect(up.body.info.limiters).toEqual({ status: 'up', store: 'redis', masters: 1 });

    await killRedis(server());
    const down = await untilHealth(app, 503, DOWN_WITHIN_MS);
    expect(down.answer.body.status).toBe('error');
    expect(down.answer.body.error.limiters).toEqual({
      status: 'down',
      store: 'redis',
      message: expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${server().port}: `)),
    });

    await restartRedis(server());
    const back = await untilHealth(app, 200, UP_AGAIN_WITHIN_MS);
    console.log(
      JSON.stringify({
        standalone: {
          killTo503Ms: down.afterMs,
          restartTo200Ms: back.afterMs,
          cause: down.answer.body.error.limiters.message,
        },
      }),
    );
  });
});

describe('GET /health on a 3-master Cluster of its own', () => {
  const { servers, client } = useOwnCluster();
  let app: INestApplication;
  afterAll(() => app?.close());

  it('answers 200 with every master up, and 503 with the cause soon after one master is killed', async () => {
    app = await startHealthApp({ redis: client() });
    const up = await untilHealth(app, 200, DOWN_WITHIN_MS);
    expect(up.answer.body.info.limiters).toEqual({ status: 'up', store: 'redis', masters: 3 });

    const killed = servers()[1];
    await killRedis(killed);
    const down = await untilHealth(app, 503, DOWN_WITHIN_MS);
    expect(down.answer.body.error.limiters).toEqual({ status: 'down', store: 'redis', message: expect.any(String) });
    console.log(
      JSON.stringify({
        cluster: { killTo503Ms: down.afterMs, killedPort: killed.port, cause: down.answer.body.error.limiters.message },
      }),
    );
  });
});

describe('the package root', () => {
  it('loads nothing of @nestjs/terminus, an optional peer', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
    const importing = files(join(__dirname, '..', '..', '..', 'lib')).filter((f) =>
      /from '@nestjs\/terminus'|require\('@nestjs\/terminus'\)/.test(readFileSync(f, 'utf8')),
    );
    expect(importing).toEqual([]);
  });
});
