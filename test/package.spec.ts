import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(__dirname, '..');

/** The version this repo tests with, so the fresh app installs from the npm cache. */
const version = (pkg: string): string => require(join(root, 'node_modules', pkg, 'package.json')).version;

describe('the packed package', () => {
  let app: string;

  beforeAll(async () => {
    app = await mkdtemp(join(tmpdir(), 'nestjs-limiters-smoke-'));
    await run('npm', ['pack', '--pack-destination', app], { cwd: root });
    const tarball = (await readdir(app)).find((f) => f.endsWith('.tgz'))!;
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'smoke-app', private: true }));
    const peers = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'ioredis', 'reflect-metadata', 'rxjs'];
    await run(
      'npm',
      ['install', `./${tarball}`, ...peers.map((p) => `${p}@${version(p)}`), '--prefer-offline', '--no-audit', '--no-fund'],
      { cwd: app },
    );
    await copyFile(join(__dirname, 'package-smoke', 'main.ts'), join(app, 'main.ts'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [
      tsc, 'main.ts', '--outDir', 'dist', '--target', 'ES2022', '--module', 'commonjs', '--moduleResolution', 'node10',
      '--ignoreDeprecations', '6.0', '--experimentalDecorators', '--emitDecoratorMetadata', '--strict',
      '--skipLibCheck', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'),
    ], { cwd: app });
  }, 240_000);

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
});
