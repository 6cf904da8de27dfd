/** What the caller-key specs search for a leaked key, and where. */
import { masters, type RedisClient } from './redis-targets';

/** The forms a key could be read back from: as is, base64url, base64 and hex. */
export function readableForms(key: string): string[] {
  const bytes = Buffer.from(key, 'utf8');
  return [key, bytes.toString('base64url'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('hex')];
}

/** Every key name on every master, by SCAN (KEYS would block a shared server). */
export async function allKeyNames(redis: RedisClient): Promise<string[]> {
  const names: string[] = [];
  for (const node of await masters(redis)) {
    for await (const batch of node.scanStream({ count: 1_000 })) names.push(...(batch as string[]));
  }
  return names;
}
