/**
 * node-redis teams need not install ioredis (issue 14): the package loads ioredis only to
 * make a connection itself, from a URL or RedisOptions. Run in a process where ioredis
 * cannot be resolved.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLibrary } from '../harness/build-library';
import { startWorker } from '../harness/processes';
import { uniqueName } from '../harness/redis-targets';

const WORKER_START_MS = 30_000;
const repoRoot = path.resolve(__dirname, '..', '..');
// Inside the repository, so that the build finds node_modules; .scratch/ is ignored by git.
const buildDir = path.join(repoRoot, '.scratch', `without-ioredis-${process.pid}`);

let lib: string;
// The library as the package ships it: Nest's injection needs the decorator metadata tsc emits.
beforeAll(() => {
  lib = buildLibrary(buildDir);
}, 120_000);

afterAll(() => fs.rmSync(buildDir, { recursive: true, force: true }));

it(
  'an app with node-redis and no ioredis installed limits through the module and the core, and a URL says to install ioredis',
  async () => {
    const hook = path.resolve(__dirname, '..', 'harness', 'workers', 'without-ioredis.cjs');
    const { result } = startWorker(
      'test/harness/workers/without-ioredis.worker.cjs',
      { name: uniqueName('no-ioredis') },
      {
        timeoutMs: 2 * WORKER_START_MS,
        env: { LIB: lib, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${hook}`.trim() },
      },
    );
    const outcome = await result;
    expect(outcome.ioredisFound).toBe(false);
    // Capacity 2 per minute: the third call is refused, by the limit and not by a missing package.
    expect(outcome.calls.slice(0, 2)).toEqual(['made', 'made']);
    expect(outcome.calls[2]).toMatch(/Exceeded/);
    expect(outcome.secondPermit).toBe(false);
    expect(outcome.takes).toEqual([true, false]);
    expect(outcome.urlStart.started).toBe(false);
    expect(outcome.urlStart.name).toBe('InvalidOptionError');
    expect(outcome.urlStart.message).toContain('npm install ioredis');
    expect(outcome.urlStart.message).not.toContain('redis://');
  },
  3 * WORKER_START_MS,
);
