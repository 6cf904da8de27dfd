/** Compiles lib/ with tsc (as `npm run build` does) into bench/.build, next to a link to lua/. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const buildDir = path.join(repoRoot, 'bench', '.build');

export function buildLibrary(): void {
  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.mkdirSync(buildDir, { recursive: true });
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  // prettier-ignore
  execFileSync(process.execPath, [
    tsc, '-p', 'tsconfig.build.json', '--outDir', path.join(buildDir, 'dist'),
    '--declaration', 'false', '--sourceMap', 'false',
  ], { cwd: repoRoot, stdio: 'inherit' });
  // lua-scripts.ts finds the scripts three levels above dist/store/redis.
  fs.symlinkSync(path.join(repoRoot, 'lua'), path.join(buildDir, 'lua'));
}
