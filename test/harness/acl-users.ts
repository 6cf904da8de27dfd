/** Redis ACL users for the permission tests, and the rule set the docs give (README, docs/reliability.md). */
import Redis from 'ioredis';

/** The commands lua/ calls: a user runs a script only if it may run each command inside. */
export const SCRIPT_COMMANDS = [
  'time', 'get', 'set', 'incr', 'pexpire', 'pttl', 'publish', 'hget', 'hset', 'hdel',
  'zadd', 'zcard', 'zpopmin', 'zrange', 'zrangebyscore', 'zrem', 'zremrangebyscore', 'zscore',
];

/** The least a user needs, as documented: its own keys and channels, the scripts, SUBSCRIBE, INFO. */
export function limiterUserRules(prefix = 'limiters'): string[] {
  return [
    `~${prefix}:*`, `&${prefix}:*`,
    '+eval', '+evalsha', '+subscribe', '+info',
    ...SCRIPT_COMMANDS.map((c) => `+${c}`),
  ];
}

let users = 0;

/**
 * Creates a user with exactly `rules` (starting from nothing: no keys, no channels, no
 * commands) on the server `admin` is connected to, and returns its name.
 */
export async function createUser(admin: Redis, rules: string[]): Promise<string> {
  const name = `limiters-test-${process.pid}-${++users}`;
  await admin.acl('SETUSER', name, 'reset', 'on', '>secret', ...rules);
  return name;
}

/** A client logged in as `user`; its errors surface through the calls. */
export function connectAs(port: number, user: string, clients: Redis[]): Redis {
  const client = new Redis(`redis://${user}:secret@127.0.0.1:${port}`);
  client.on('error', () => undefined);
  clients.push(client);
  return client;
}
