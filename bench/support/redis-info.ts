/** Reading INFO sections of the bench's Redis. */
import type { Redis } from 'ioredis';

export function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

export async function info(redis: Redis, section: string): Promise<Record<string, string>> {
  return parseInfo(await redis.info(section));
}

/**
 * Commands the server ran since the last CONFIG RESETSTAT. `clientCommands` counts what
 * clients sent (total_commands_processed); `perCommand` comes from INFO commandstats,
 * which also counts the calls scripts make inside Redis.
 */
export async function commandCounts(redis: Redis) {
  const stats = await info(redis, 'commandstats');
  const perCommand: Record<string, number> = {};
  for (const [key, value] of Object.entries(stats)) {
    if (!key.startsWith('cmdstat_')) continue;
    perCommand[key.slice('cmdstat_'.length)] = Number(/calls=(\d+)/.exec(value)![1]);
  }
  const clientCommands = Number((await info(redis, 'stats')).total_commands_processed);
  return { clientCommands, perCommand };
}

export interface RedisWork {
  /** redis-server main thread CPU (INFO cpu used_cpu_user_main_thread + used_cpu_sys_main_thread), µs */
  cpuUs: number;
  /** INFO stats total_commands_processed: every command, a script's own calls included */
  commands: number;
}

/**
 * Reads the server's work so far on `admin`; the difference of two readings, less
 * `readingCommands` (what the readings' own INFO calls add, measured once here), is the
 * work of what ran between them.
 */
export async function redisWorkMeter(admin: Redis): Promise<{ read(): Promise<RedisWork>; readingCommands: number }> {
  const read = async (): Promise<RedisWork> => {
    const cpu = await info(admin, 'cpu');
    const stats = await info(admin, 'stats');
    return {
      cpuUs: (Number(cpu.used_cpu_user_main_thread) + Number(cpu.used_cpu_sys_main_thread)) * 1e6,
      commands: Number(stats.total_commands_processed),
    };
  };
  const first = await read();
  const second = await read();
  return { read, readingCommands: second.commands - first.commands };
}
