import diagnosticsChannel from 'node:diagnostics_channel';
import type { AddressInfo } from 'node:net';
import { Controller, Get, type INestApplication, type Type } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import { CHANNEL_NAMES } from '../../../lib/core/events';
import { LimitersBoardModule } from '../../../lib/nest/board/board.module';
import type { LimitersBoardOptions } from '../../../lib/nest/board/board-options.interface';
import type { BoardData } from '../../../lib/nest/board/board-data';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { closeClient } from '../../harness/connect';
import { dumpDom, screenshot } from '../../harness/chromium';
import { targets, uniqueName, useClients, type RedisClient } from '../../harness/redis-targets';
import { RATE_KINDS, registered, type RateKind } from '../../harness/rate-kinds';
import { TcpProxy } from '../../harness/tcp-proxy';
import { sleep } from '../../harness/timing';
import { adapters, startHttpApp, unreachableRedis, type AdapterName } from '../../harness/nest/limited-app';

const SEMAPHORE = uniqueName('board-reports');
/** Each rate kind's registered limit, 5 per 200 ms. */
const RATE_NAMES = new Map(RATE_KINDS.map((rate) => [rate, uniqueName(`board-${rate.kind}`)]));
const IDLE = uniqueName('board-idle');
const INLINE = uniqueName('board-exports');
/** A caller's key that must never reach the page or its data. */
const SECRET_KEY = `tenant-${uniqueName('SECRETKEY')}`;
const TOKEN = 'test';

@Controller('work')
class WorkController {
  @Get('report')
  @Semaphore(SEMAPHORE)
  async report(): Promise<string> {
    await sleep(120);
    return 'ok';
  }

  @Get('export')
  @Semaphore({ name: INLINE, capacity: 2, maxSleep: 0, key: (req: { query: { tenant?: string } }) => req.query.tenant })
  async export(): Promise<string> {
    await sleep(40);
    return 'ok';
  }
}

/** A route limited by the rate kind's registered limit: /work/<kind>. */
function rateController(rate: RateKind): Type {
  @Controller('work')
  class RateController {
    @Get(rate.kind)
    @rate.decorator(RATE_NAMES.get(rate)!)
    search(): string {
      return 'ok';
    }
  }
  return RateController;
}

const limiterOptions = Object.assign(
  { semaphores: { [SEMAPHORE]: { capacity: 3, maxSleep: 5_000 }, [IDLE]: { capacity: 7 } } },
  ...RATE_KINDS.map((rate) => registered(rate, { [RATE_NAMES.get(rate)!]: { ...rate.per(5, 200), maxSleep: 0 } })),
);

/**
 * What the page shows in a rate kind's own columns while calls go on, by kind; a kind not
 * here is checked on the columns every kind has.
 */
const OWN_FIELDS: Record<string, Record<string, RegExp>> = {
  'token-bucket': { tokens: /^[0-5] \/ 5$/, nextRefill: /^in \d+ ms/ },
  'fixed-window': {
    used: /^[0-5] \/ 5$/,
    window: /^200 ms from its first call$/,
    resetsIn: /^(in \d+ ms|no window open)$/,
  },
};

const byToken: LimitersBoardOptions['authorize'] = (req: { query: { token?: string } }) => req.query.token === TOKEN;

function startBoardApp(
  adapter: AdapterName,
  redis: RedisClient,
  board: LimitersBoardOptions,
): Promise<INestApplication> {
  return startHttpApp(adapter, {
    redis,
    options: limiterOptions,
    controllers: [WorkController, ...RATE_KINDS.map(rateController)],
    imports: [LimitersBoardModule.forRoot(board)],
  });
}

/** Calls the limited routes from a few concurrent loops until stopped; refusals (429) are part of the load. */
function driveLoad(base: string): { stop(): Promise<void> } {
  let running = true;
  const loop = async (path: string, pauseMs: number) => {
    while (running) {
      await fetch(`${base}${path}`)
        .then((r) => r.arrayBuffer())
        .catch(() => undefined);
      await sleep(pauseMs);
    }
  };
  const loops = [
    loop('/work/report', 10),
    loop('/work/report', 10),
    loop('/work/report', 10),
    loop('/work/report', 10),
    ...RATE_KINDS.flatMap((rate) => [loop(`/work/${rate.kind}`, 30), loop(`/work/${rate.kind}`, 30)]),
    loop(`/work/export?tenant=${SECRET_KEY}`, 20),
  ];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** The rendered row of a limiter, or undefined when the page does not show it. */
function row(dom: string, kind: string, name: string): string | undefined {
  return dom.match(new RegExp(`<tr data-kind="${kind}" data-name="${name}">([\\s\\S]*?)</tr>`))?.[1];
}

function field(rowHtml: string, name: string): string {
  const value = rowHtml.match(new RegExp(`data-field="${name}"[^>]*><span class="value[^"]*">([^<]*)<`))?.[1];
  if (value === undefined) throw new Error(`no field ${name} in row: ${rowHtml}`);
  return value;
}

const standalone = targets.find((t) => t.name === 'standalone')!;

describe('live board', () => {
  const { client } = useClients(standalone);

  describe('in a real browser (chromium), with calls going on', () => {
    let app: INestApplication;
    let base: string;

    beforeAll(async () => {
      app = await startBoardApp('express', client(), { path: '/limiters', authorize: byToken });
      await app.listen(0, '127.0.0.1');
      base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      await app?.close();
    });

    it('shows every registered and recently active limiter, numbers changing between two loads, and never a key', async () => {
      const load = driveLoad(base);
      try {
        await sleep(500);
        const url = `${base}/limiters?token=${TOKEN}`;
        const first = await dumpDom(url);
        await sleep(1_200);
        const second = await dumpDom(url);
        if (process.env.BOARD_SCREENSHOT) await screenshot(url, process.env.BOARD_SCREENSHOT);
        const data = await fetch(`${base}/limiters/data?token=${TOKEN}`).then((r) => r.text());

        for (const dom of [first, second]) {
          expect(dom.match(/<div id="status"[^>]*>([^<]*)</)?.[1]).toMatch(/^Updated /);
          expect(row(dom, 'semaphore', IDLE)).toBeDefined();
          expect(field(row(dom, 'semaphore', IDLE)!, 'holders')).toBe('0 / 7');
          expect(field(row(dom, 'semaphore', SEMAPHORE)!, 'holders')).toMatch(/^[0-3] \/ 3$/);
          for (const [rate, name] of RATE_NAMES) {
            for (const [own, shown] of Object.entries(OWN_FIELDS[rate.kind] ?? {})) {
              expect({ kind: rate.kind, own, value: field(row(dom, rate.kind, name)!, own) }).toEqual({
                kind: rate.kind,
                own,
                value: expect.stringMatching(shown),
              });
            }
          }
          expect(row(dom, 'semaphore', INLINE)).toBeDefined();
          expect(field(row(dom, 'semaphore', INLINE)!, 'keys')).toBe('1');
        }
        for (const [kind, name] of [
          ['semaphore', SEMAPHORE],
          ...[...RATE_NAMES].map(([rate, name]) => [rate.kind, name]),
          ['semaphore', INLINE],
        ]) {
          const before = Number(field(row(first, kind, name)!, 'admitted'));
          const after = Number(field(row(second, kind, name)!, 'admitted'));
          expect(before).toBeGreaterThan(0);
          expect(after).toBeGreaterThan(before);
        }
        for (const [rate, name] of RATE_NAMES) {
          expect(Number(field(row(second, rate.kind, name)!, 'refused'))).toBeGreaterThan(0);
          expect(Number(field(row(second, rate.kind, name)!, 'admittedPerSecond'))).toBeGreaterThan(0);
        }

        for (const text of [first, second, data]) expect(text).not.toContain('SECRETKEY');
      } finally {
        await load.stop();
      }
    });
  });

  describe.each(adapters)('on %s', (adapter) => {
    let apps: INestApplication[] = [];
    const start = async (board: LimitersBoardOptions, redis: RedisClient = client()) => {
      const app = await startBoardApp(adapter, redis, board);
      apps.push(app);
      return app;
    };

    afterEach(async () => {
      await Promise.all(apps.map((a) => a.close()));
      apps = [];
    });

    it('refuses page and data with 403 when no authorize is given', async () => {
      const app = await start({});
      await request(app.getHttpServer()).get('/limiters').expect(403);
      await request(app.getHttpServer()).get(`/limiters/data?token=${TOKEN}`).expect(403);
    });

    it('refuses page and data with 403 when authorize says false, or throws', async () => {
      for (const authorize of [
        async () => false,
        () => {
          throw new Error('no');
        },
      ]) {
        const app = await start({ path: 'board', authorize });
        await request(app.getHttpServer()).get('/board').expect(403);
        await request(app.getHttpServer()).get('/board/data').expect(403);
      }
    });

    it('serves a page that loads nothing from elsewhere: no outside URL, a CSP allowing only itself', async () => {
      const app = await start({ authorize: byToken });
      await request(app.getHttpServer()).get('/limiters?token=wrong').expect(403);
      const page = await request(app.getHttpServer()).get(`/limiters?token=${TOKEN}`).expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('<script>');
      expect(page.text).not.toMatch(/https?:\/\//);
      expect(page.text).not.toMatch(/\s(src|href)=/);
      expect(page.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(page.headers['content-security-policy']).toMatch(/connect-src 'self'/);
    });

    it('lists every registered limiter with its capacity and state in the data', async () => {
      const app = await start({ authorize: byToken });
      const { body } = await request(app.getHttpServer()).get(`/limiters/data?token=${TOKEN}`).expect(200);
      const data = body as BoardData;
      expect(data.rows.find((r) => r.name === IDLE)).toMatchObject({
        kind: 'semaphore',
        registered: true,
        capacity: 7,
        state: { holders: 0, waiters: 0 },
      });
      for (const [rate, name] of RATE_NAMES) {
        const { shape, state } = rate.boardRow(5, 200);
        expect(data.rows.find((r) => r.name === name)).toMatchObject({
          kind: rate.kind,
          registered: true,
          ...shape,
          state,
        });
      }
    });

    it('answers its data within a few seconds when Redis is down, saying so', async () => {
      const redis = await unreachableRedis();
      try {
        const app = await start({ authorize: byToken }, redis);
        const startedAt = Date.now();
        const { body } = await request(app.getHttpServer()).get(`/limiters/data?token=${TOKEN}`).expect(200);
        expect(Date.now() - startedAt).toBeLessThan(4_000);
        const idle = (body as BoardData).rows.find((r) => r.name === IDLE)!;
        expect(idle.state).toBeUndefined();
        expect(idle.stateNote).toMatch(/Redis/);
      } finally {
        await Promise.all(apps.splice(0).map((a) => a.close()));
        await closeClient(redis);
      }
    });
  });

  it('answers its data in time when Redis goes silent, and does not pile up reads', async () => {
    const { host, port } = (client() as Redis).options;
    const proxy = await TcpProxy.start({ host: host!, port: port! });
    const redis = new Redis(proxy.url, { maxRetriesPerRequest: 0 });
    redis.on('error', () => undefined);
    const app = await startBoardApp('express', redis, { authorize: byToken, refreshMs: 250 });
    try {
      await request(app.getHttpServer()).get(`/limiters/data?token=${TOKEN}`).expect(200);
      proxy.blackhole();
      for (let i = 0; i < 3; i++) {
        await sleep(300);
        const startedAt = Date.now();
        const { body } = await request(app.getHttpServer()).get(`/limiters/data?token=${TOKEN}`).expect(200);
        expect(Date.now() - startedAt).toBeLessThan(3_000);
        expect((body as BoardData).rows.find((r) => r.name === IDLE)!.stateNote).toMatch(/Redis did not answer/);
      }
    } finally {
      redis.disconnect();
      await app.close().catch(() => undefined);
      await proxy.close();
    }
  });

  it("listens to the limiters' channels only while the app runs", async () => {
    const channels = Object.values(CHANNEL_NAMES).filter((c) => c !== CHANNEL_NAMES.wait);
    const admit = diagnosticsChannel.channel(CHANNEL_NAMES.admit);
    expect(admit.hasSubscribers).toBe(false);
    const app = await startBoardApp('express', client(), { authorize: byToken });
    expect(admit.hasSubscribers).toBe(true);
    await app.close();
    expect(channels.some((c) => diagnosticsChannel.channel(c).hasSubscribers)).toBe(false);
  });
});
