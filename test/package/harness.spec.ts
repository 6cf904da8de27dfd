/** The harness itself: real servers are reachable, per target and from worker processes. */
import * as path from 'node:path';
import { spawnWorker } from '../harness/processes';
import { commandStats, masters, targets, uniqueName, useClients } from '../harness/redis-targets';

describe.each(targets)('$name', (target) => {
  const { client } = useClients(target);

  it('round-trips SET/GET', async () => {
    const redis = client();
    const key = uniqueName('roundtrip');
    await redis.set(key, 'value', 'EX', 60);
    expect(await redis.get(key)).toBe('value');
  });

  it('counts the commands sent in commandStats', async () => {
    const redis = client();
    const before = (await commandStats(redis)).get('echo') ?? 0;
    for (let i = 0; i < 3; i++) await redis.echo('counted');
    // At least: another test file may send ECHO too, but none in this harness resets stats.
    expect((await commandStats(redis)).get('echo')).toBeGreaterThanOrEqual(before + 3);
  });

  it('is reachable from a worker process', async () => {
    const result = await spawnWorker(path.join(__dirname, '..', 'harness', 'workers', 'ping.worker.ts'), {
      target: target.name,
    });
    expect(result).toEqual({ pid: expect.any(Number), reply: 'PONG' });
    expect(result.pid).not.toBe(process.pid);
  });
});

describe('cluster', () => {
  const { client } = useClients(targets.find((t) => t.name === 'cluster')!);

  it('puts keys with different hash tags on different masters', async () => {
    const redis = client();
    const prefix = uniqueName('slots');
    const tags = 'abcdefghijklmnopqrstuvwxyz'.split('');
    await Promise.all(tags.map((tag) => redis.set(`{${prefix}-${tag}}:key`, tag, 'EX', 60)));

    const nodes = await masters(redis);
    const keysPerMaster = await Promise.all(nodes.map((m) => m.keys(`{${prefix}-*`)));
    expect(keysPerMaster.flat()).toHaveLength(tags.length);
    expect(keysPerMaster.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
  });
});
