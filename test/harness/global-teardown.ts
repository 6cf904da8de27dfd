import { stopAll } from './redis-servers';

export default async function globalTeardown(): Promise<void> {
  await stopAll(globalThis.__limitersRedisServers ?? []);
  globalThis.__limitersRedisServers = undefined;
}
