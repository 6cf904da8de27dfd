/** Compiles lib/ with tsc as `npm run build` does (decorator metadata included), into `dir`/dist beside a link to lua/. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

/**
 * `dir` must lie inside the repository, so that the build finds node_modules. `source` is
 * the folder holding lib/, lua/ and tsconfig.build.json: the working tree, or an older
 * commit's files extracted (bench/support/build.ts). Returns the dist folder, which
 * `require` takes as the package's entry. No declarations or maps: what runs is all a test
 * or the bench needs.
 */
export function buildLibrary(dir: string, source: string = repoRoot): string {
  for (const built of ['dist', 'lua']) fs.rmSync(path.join(dir, built), { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  // prettier-ignore
  execFileSync(process.execPath, [
    tsc, '-p', path.join(source, 'tsconfig.build.json'), '--outDir', path.join(dir, 'dist'),
    '--declaration', 'false', '--declarationMap', 'false', '--sourceMap', 'false',
  ], { stdio: 'inherit' });
  // lua-scripts.ts finds the scripts three levels above dist/store/redis.
  fs.symlinkSync(path.join(source, 'lua'), path.join(dir, 'lua'));
  return path.join(dir, 'dist');
}
