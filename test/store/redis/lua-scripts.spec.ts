import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadScripts, withIncludes } from '../../../lib/store/redis/lua-scripts';
import { masters, targets, useClients } from '../../harness/redis-targets';

const LUA_DIR = join(__dirname, '..', '..', '..', 'lua');
const version = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

describe('the Lua loader', () => {
  it('loads every script file in lua/, with its key count from the file name', () => {
    const files = readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'));
    const scripts = loadScripts();
    expect(scripts.size).toBe(files.length);
    for (const file of files) {
      const [, base, keys] = /^(.+)-(\d+)\.lua$/.exec(file)!;
      const name = base.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      expect(scripts.get(name)?.numberOfKeys).toBe(Number(keys));
    }
  });

  it('inlines nested includes once each, before the code that uses them', () => {
    for (const [name, { lua }] of loadScripts()) {
      expect({ name, includes: lua.match(/^-- @include /gm) }).toEqual({ name, includes: null });
      const defined = [...lua.matchAll(/^local function (\w+)/gm)].map((m) => m[1]);
      expect({ name, defined }).toEqual({ name, defined: [...new Set(defined)] });
      // Every helper a script calls is defined above its first call (some scripts leave one unused).
      for (const fn of defined) {
        const definedAt = lua.indexOf(`local function ${fn}(`);
        const firstCall = lua.search(new RegExp(`(?<!function )\\b${fn}\\(`));
        if (firstCall >= 0) expect({ name, fn, before: definedAt < firstCall }).toEqual({ name, fn, before: true });
      }
    }
  });

  it('inlines an include an include names, though its includer did not list it', () => {
    // semaphore-grant uses extend_ttl: a script that lists only semaphore-grant still works.
    const lua = withIncludes('-- @include semaphore-grant\nreturn 1\n', 'probe-0.lua');
    expect(lua.indexOf('local function extend_ttl(')).toBeGreaterThanOrEqual(0);
    expect(lua.indexOf('local function extend_ttl(')).toBeLessThan(lua.indexOf('local function reap_and_grant('));
  });

  it('names each command after the package version and the script text', () => {
    const commands = [...loadScripts().values()].map((s) => s.command);
    expect(new Set(commands).size).toBe(commands.length);
    for (const command of commands) {
      expect(command).toContain(`_${version.replace(/\W/g, '_')}_`);
      expect(command).toMatch(/^[A-Za-z0-9_]+$/);
    }
  });

  describe.each(targets)('$name', (target) => {
    const { client } = useClients(target);

    it('every script compiles on Redis', async () => {
      const [master] = await masters(client());
      for (const [name, { lua }] of loadScripts()) {
        await expect(master.script('LOAD', lua).then(() => name)).resolves.toBe(name);
      }
    });
  });
});
