import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LimiterError } from '../../core/errors';

// lib/store/redis and dist/store/redis both sit three levels below the package root.
const PACKAGE_DIR = join(__dirname, '..', '..', '..');
const LUA_DIR = join(PACKAGE_DIR, 'lua');
const INCLUDES_DIR = join(LUA_DIR, 'includes');

/** A script's name in code: lua/semaphore-acquire-4.lua is "semaphoreAcquire". */
export type ScriptName = string;

export interface Script {
  /** The ioredis command it is defined as; unique to this copy of the package and this text. */
  command: string;
  /** The script with its includes inlined, as Redis runs it. */
  lua: string;
  /** SHA1 of `lua`, which EVALSHA names it by. */
  sha: string;
  numberOfKeys: number;
}

const SCRIPT_FILE = /^([a-z][a-z-]*[a-z])-(\d+)\.lua$/;
const INCLUDE_LINE = /^-- @include ([\w-]+)[ \t]*$/gm;

let scripts: Map<ScriptName, Script> | undefined;

/**
 * Every script in lua/, read once: each file "<what it does>-<number of keys>.lua" is one
 * script, so adding a script is adding a file.
 */
export function loadScripts(): Map<ScriptName, Script> {
  if (scripts) return scripts;
  const version = packageVersion();
  const loaded = new Map<ScriptName, Script>();
  for (const file of readdirSync(LUA_DIR).sort()) {
    const match = SCRIPT_FILE.exec(file);
    if (!match) continue;
    const name = match[1].replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const lua = withIncludes(readFileSync(join(LUA_DIR, file), 'utf8'), file);
    // Two copies of this package can share one ioredis client (an app and a library each
    // installing their own): a command name that differs with the version and the text
    // keeps one copy from running the other's script because its name was taken first.
    const sha = createHash('sha1').update(lua).digest('hex');
    const command = `nestjsLimiters_${version}_${name}_${sha.slice(0, 10)}`;
    loaded.set(name, { command, lua, sha, numberOfKeys: Number(match[2]) });
  }
  return (scripts = loaded);
}

/**
 * Replaces "-- @include <name>" lines with lua/includes/<name>.lua, as Redis has no require.
 * An include may include others; each piece is inlined once, before the first piece that
 * names it, so a script gets every helper it needs whatever order its includes are listed in.
 * `includesDir`: where the includes are (another revision's, for bench/probes); lua/includes by default.
 */
export function withIncludes(source: string, file: string, includesDir = INCLUDES_DIR): string {
  const inlined = new Set<string>();
  const expand = (text: string, from: string[]): string =>
    text.replace(INCLUDE_LINE, (_, include: string) => {
      if (from.includes(include)) {
        throw new LimiterError(`lua/${file}: includes form a cycle: ${[...from, include].join(' -> ')}`);
      }
      if (inlined.has(include)) return `-- (${include} is inlined above)`;
      inlined.add(include);
      const body = readFileSync(join(includesDir, `${include}.lua`), 'utf8');
      return expand(body, [...from, include]).trimEnd();
    });
  return expand(source, []);
}

/**
 * The version of the nearest nestjs-limiters package.json above this file: the package's
 * own when installed, the repository's when the library is compiled elsewhere (the
 * sample app and the bench build it into folders of their own).
 */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'nestjs-limiters' && manifest.version) return manifest.version.replace(/\W/g, '_');
    } catch {
      // no package.json here: look further up
    }
    if (dirname(dir) === dir) throw new LimiterError(`No package.json of nestjs-limiters above ${__dirname}.`);
  }
}

/** The script `name` (lua/<name in kebab case>-<keys>.lua). */
export function script(name: ScriptName): Script {
  const found = loadScripts().get(name);
  if (!found) throw new LimiterError(`No Lua script "${name}" in ${LUA_DIR}: the package's lua/ folder is incomplete.`);
  return found;
}
