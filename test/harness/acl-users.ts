/** Redis ACL users for the permission tests, and the rule set the docs give (docs/redis.md). */
import Redis, { type RedisOptions } from 'ioredis';
import { SCRIPT_COMMANDS } from '../../lib/store/redis/script-runner';

/** The least a user needs, as documented: its own keys and channels, the scripts, SUBSCRIBE, INFO. */
export function limiterUserRules(prefix = 'limiters'): string[] {
  return [
    `~${prefix}:*`,
    `&${prefix}:*`,
    '+eval',
    '+evalsha',
    '+subscribe',
    '+ssubscribe',
    '+info',
    ...SCRIPT_COMMANDS.split(' ').map((c) => `+${c.toLowerCase()}`),
  ];
}

/** What a Cluster client needs on top: ioredis reads the slot map and the cluster state. */
export const CLUSTER_RULES = ['+cluster|slots', '+cluster|info'];

let users = 0;

/**
 * Creates a user with exactly `rules` (starting from nothing: no keys, no channels, no
 * commands) on the server `admin` is connected to, and returns its name; password "secret".
 */
export async function createUser(
  admin: Redis,
  rules: string[],
  name = `limiters-test-${process.pid}-${++users}`,
): Promise<string> {
  await admin.acl('SETUSER', name, 'reset', 'on', '>secret', ...rules);
  return name;
}

/** A client logged in as `user`; its errors surface through the calls. */
export function connectAs(port: number, user: string, clients: Redis[], options: RedisOptions = {}): Redis {
  const client = new Redis(`redis://${user}:secret@127.0.0.1:${port}`, options);
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}
