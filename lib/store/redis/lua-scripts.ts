import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

// lib/store/redis and dist/store/redis both sit three levels below the package root.
const LUA_DIR = join(__dirname, '..', '..', '..', 'lua');

/** Script files in lua/, named "<what it does>-<number of keys>.lua". */
const SCRIPT_FILES = {
  semaphoreAcquire: 'semaphore-acquire-4',
  semaphoreRelease: 'semaphore-release-3',
  semaphoreRenew: 'semaphore-renew-1',
  semaphoreCancel: 'semaphore-cancel-3',
  semaphoreInspect: 'semaphore-inspect-3',
  tokenBucketTake: 'token-bucket-take-1',
  tokenBucketInspect: 'token-bucket-inspect-1',
} as const;

export type ScriptName = keyof typeof SCRIPT_FILES;

interface Script {
  command: string;
  lua: string;
  numberOfKeys: number;
}

let scripts: Map<ScriptName, Script> | undefined;

function loadScripts(): Map<ScriptName, Script> {
  scripts ??= new Map(
    (Object.keys(SCRIPT_FILES) as ScriptName[]).map((name) => {
      const file = SCRIPT_FILES[name];
      const numberOfKeys = Number(/-(\d+)$/.exec(file)![1]);
      const lua = inlineIncludes(readFileSync(join(LUA_DIR, `${file}.lua`), 'utf8'));
      return [name, { command: `nestjsLimiters_${name}`, lua, numberOfKeys }];
    }),
  );
  return scripts;
}

/** Replaces each "-- @include <name>" line with lua/includes/<name>.lua, as Redis has no require. */
function inlineIncludes(lua: string): string {
  return lua.replace(/^-- @include ([\w-]+)$/gm, (_, include: string) =>
    readFileSync(join(LUA_DIR, 'includes', `${include}.lua`), 'utf8'),
  );
}

type ScriptCommand = (...keysAndArgs: Array<string | number>) => Promise<unknown>;

/**
 * Runs one of our scripts. defineCommand makes ioredis send EVALSHA and fall back to
 * EVAL on NOSCRIPT (after a restart or SCRIPT FLUSH), on a Redis or a Cluster alike.
 */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: string[],
  args: Array<string | number>,
): Promise<unknown> {
  const script = loadScripts().get(name)!;
  const commands = client as unknown as Record<string, ScriptCommand | undefined>;
  if (typeof commands[script.command] !== 'function') {
    client.defineCommand(script.command, { lua: script.lua, numberOfKeys: script.numberOfKeys });
  }
  return commands[script.command]!.call(client, ...keys, ...args);
}
