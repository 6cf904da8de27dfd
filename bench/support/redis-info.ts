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
