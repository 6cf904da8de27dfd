import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..', '..');

/** The version this repo tests with, so the fresh app installs from the npm cache. */
const version = (pkg: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

/** Every file below `dir`, as paths relative to it. */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('the packed package', () => {
  let app: string;
  /** Where the tarball is installed in the fresh app: what a user's node_modules holds. */
  let installed: string;
  /** Runs a CommonJS or ES module snippet inside the fresh app; resolves with its stdout. */
  const evaluate = async (code: string, type: 'commonjs' | 'module' = 'commonjs'): Promise<string> =>
    (await run(process.execPath, ['--input-type', type, '--eval', code], { cwd: app })).stdout.trim();

  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), 'nestjs-limiters-smoke-'));
    await run('npm', ['pack', '--pack-destination', app], { cwd: root });
    const tarball = (await readdir(app)).find((f) => f.endsWith('.tgz'))!;
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'smoke-app', private: true }));
    const peers = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'ioredis', 'reflect-metadata', 'rxjs'];
    await run(
      'npm',
      [
        'install',
        `./${tarball}`,
        ...peers.map((p) => `${p}@${version(p)}`),
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
      ],
      { cwd: app },
    );
    installed = join(app, 'node_modules', 'nestjs-limiters');
    await copyFile(join(__dirname, 'smoke', 'main.ts'), join(app, 'main.ts'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(
      process.execPath,
      [
        tsc,
        'main.ts',
        '--outDir',
        'dist',
        '--target',
        'ES2022',
        '--module',
        'commonjs',
        '--moduleResolution',
        'node10',
        '--ignoreDeprecations',
        '6.0',
        '--experimentalDecorators',
        '--emitDecoratorMetadata',
        '--strict',
        '--skipLibCheck',
        '--types',
        'node',
        '--typeRoots',
        join(root, 'node_modules', '@types'),
      ],
      { cwd: app },
    );
  }, 480_000); // npm pack builds the library first: minutes on a busy machine

  afterAll(() => rm(app, { recursive: true, force: true }));

  it('installs into a fresh Nest app and limits a route there', async () => {
    const { stdout } = await run(process.execPath, [join(app, 'dist', 'main.js')], {
      cwd: app,
      env: { ...process.env, REDIS_URL: process.env.LIMITERS_TEST_REDIS_URL },
    });
    const answers = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(answers.map((a: { status: number }) => a.status)).toEqual([200, 200, 200, 429]);
    expect(answers[0].rateLimit).toMatch(/r=2/);
  });

  it('ships the LICENSE the manifest names, and the changelog', async () => {
    const license = await readFile(join(installed, 'LICENSE'), 'utf8');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    expect(manifest.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} nestjs-limiters contributors\n/);
    expect(existsSync(join(installed, 'CHANGELOG.md'))).toBe(true);
  });

  it('ships every Lua script and include the library reads at run time', async () => {
    const shipped = (await filesBelow(join(installed, 'lua'))).sort();
    expect(shipped).toEqual((await filesBelow(join(root, 'lua'))).sort());
  });

  it('can be required and imported by its name only: deep imports are outside the exports map', async () => {
    expect(await evaluate("console.log(typeof require('nestjs-limiters').SemaphoreLimiter)")).toBe('function');
    expect(
      await evaluate(
        "import { TokenBucketLimiter } from 'nestjs-limiters'; console.log(typeof TokenBucketLimiter)",
        'module',
      ),
    ).toBe('function');
    expect(await evaluate("console.log(require('nestjs-limiters/package.json').name)")).toBe('nestjs-limiters');
    for (const deep of [
      'nestjs-limiters/dist/core/permit',
      'nestjs-limiters/dist/index.js',
      'nestjs-limiters/lib/index',
    ]) {
      await expect(evaluate(`require(${JSON.stringify(deep)})`)).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
    }
    await expect(evaluate("import 'nestjs-limiters/dist/core/permit.js'", 'module')).rejects.toThrow(
      /ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });

  describe('declares no internals in its published types', () => {
    /** The members a user's code must not reach: the library's own plumbing, marked @internal. */
    const internals: Array<[file: string, member: string]> = [
      ['core/semaphore-limiter.d.ts', 'backend'],
      ['core/permit.d.ts', 'backend'],
      ['core/token-bucket-limiter.d.ts', 'validTokens'],
      ['core/token-bucket-limiter.d.ts', 'sleepForTokens'],
      ['core/rate-limiter.d.ts', 'validTokens'],
      ['core/rate-limiter.d.ts', 'sleepForTokens'],
      ['core/base-rate-limiter.d.ts', 'validTokens'],
      ['core/base-rate-limiter.d.ts', 'sleepForTokens'],
      ['core/base-rate-limiter.d.ts', 'giveBack'],
      ['core/fixed-window-limiter.d.ts', 'shiftClock'],
      ['nest/limiters.service.d.ts', 'made'],
      ['nest/limiters.service.d.ts', 'registered'],
      ['nest/limiters.service.d.ts', 'registeredOrMissing'],
      ['nest/limiters.service.d.ts', 'describe'],
      ['nest/limiters.service.d.ts', 'optionsOf'],
      ['nest/limiters.service.d.ts', 'registerAs'],
      ['nest/limiters.service.d.ts', 'all'],
    ];
    it.each(internals)('%s has no public %s', async (file, member) => {
      const types = await readFile(join(installed, 'dist', file), 'utf8');
      // A private member is declared without its type; a public one (field or method) is what must be gone.
      const publicMember = new RegExp(`^\\s+(?:readonly\\s+)?${member}\\s*[(:<]`, 'm');
      expect(types).not.toMatch(publicMember);
    });
  });

  it('has source maps whose every source is a file inside the package', async () => {
    const maps = (await filesBelow(installed)).filter((f) => f.endsWith('.map'));
    const js = (await filesBelow(join(installed, 'dist'))).filter((f) => f.endsWith('.js'));
    expect(maps.length).toBeGreaterThanOrEqual(js.length);
    const unresolved: string[] = [];
    for (const map of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(await readFile(join(installed, map), 'utf8'));
      for (const source of sources as string[]) {
        const path = resolve(dirname(join(installed, map)), sourceRoot, source);
        if (relative(installed, path).startsWith('..') || !existsSync(path)) unresolved.push(`${map} -> ${source}`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it('links its README to pages that exist on the registry: no path relative to the repository', async () => {
    const readme = await readFile(join(installed, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((link) => !/^(https:\/\/|#|mailto:)/.test(link))).toEqual([]);
  });
});
