import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { LimitersModuleOptions } from '../../../lib';
import { startThrowawayRedis } from './throwaway-redis';

/** Where the sample's limits live, chosen at start. */
export interface StoreChoice {
  kind: 'redis' | 'throwaway-redis' | 'memory';
  /** For the start-up log and GET /stats. */
  description: string;
  /** What goes into LimitersModule.forRoot: `redis`, or nothing for the module's in-memory default. */
  options: Pick<LimitersModuleOptions, 'redis'>;
  /** Stops what was started for the app (the throwaway redis-server); call after app.close(). */
  stop(): Promise<void>;
}

const nothingToStop = async () => undefined;

/**
 * REDIS_URL if set; else a throwaway redis-server if one is on PATH; else the in-memory
 * store. SAMPLE_STORE=memory picks the in-memory store whatever is available.
 */
export async function chooseStore(env: NodeJS.ProcessEnv = process.env): Promise<StoreChoice> {
  if (env.SAMPLE_STORE === 'memory') return inMemory('SAMPLE_STORE=memory');
  if (env.REDIS_URL) {
    return {
      kind: 'redis',
      description: `Redis at ${withoutPassword(env.REDIS_URL)} (REDIS_URL)`,
      options: { redis: env.REDIS_URL },
      stop: nothingToStop,
    };
  }
  if (onPath('redis-server', env.PATH)) {
    const server = await startThrowawayRedis();
    return {
      kind: 'throwaway-redis',
      description: `a throwaway redis-server at ${server.url}, stopped with the app (set REDIS_URL to use yours)`,
      options: { redis: server.url },
      stop: server.stop,
    };
  }
  return inMemory('no REDIS_URL and no redis-server on PATH');
}

function inMemory(why: string): StoreChoice {
  return { kind: 'memory', description: `this process’s memory (${why})`, options: {}, stop: nothingToStop };
}

function onPath(binary: string, path = ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
