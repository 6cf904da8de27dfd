import type { Redis } from 'ioredis';
import { masters, type RedisClient } from './redis-targets';

/**
 * Records every command any client sends that mentions `needle` (e.g. an encoded limiter
 * name), via MONITOR on every master. Counts only our limiter's traffic, even while
 * other test files share the servers.
 */
export async function watchCommands(client: RedisClient, needle: string) {
  const seen: string[][] = [];
  const monitors: Redis[] = await Promise.all(
    (await masters(client)).map(async (node) => {
      const monitor = await node.monitor();
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args.some((arg) => arg.includes(needle))) seen.push(args);
      });
      return monitor;
    }),
  );
  return {
    commands: () => [...seen],
    reset: () => void seen.splice(0),
    stop: async () => void (await Promise.all(monitors.map((m) => m.disconnect()))),
  };
}
