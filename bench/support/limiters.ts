/**
 * The library under test, as compiled by tsc into bench/.build (see build.ts): Nest's
 * dependency injection needs the decorator metadata tsc emits and tsx does not.
 */
import * as path from 'node:path';
import type { Redis } from 'ioredis';

export const BUILD_DIR = path.resolve(__dirname, '..', '.build');

type Library = typeof import('../../lib');

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lib: Library = require(path.join(BUILD_DIR, 'dist'));

type Scripts = typeof import('../../lib/store/redis/lua-scripts');

/** The ioredis command a script of the built library is defined as (its name carries the version and a digest). */
export function scriptCommand(script: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadScripts } = require(path.join(BUILD_DIR, 'dist', 'store', 'redis', 'lua-scripts')) as Scripts;
  return loadScripts().get(script)!.command;
}

/** What the bench calls on a window limiter (bench/support/window-kinds.ts). */
export type WindowLimiterClass = new (
  client: Redis,
  options: { name: string; limit: number; window: number },
) => { tryTake(): Promise<{ allowed: boolean }> };

/** A window kind's class in the built library, or undefined while the library does not export it. */
export function windowClass(className: string): WindowLimiterClass | undefined {
  return (lib as unknown as Record<string, WindowLimiterClass | undefined>)[className];
}
