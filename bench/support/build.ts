/** Compiles lib/ with tsc (as `npm run build` does) into bench/.build, next to a link to lua/ (test/harness/build-library.ts). */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildLibrary as buildInto } from '../../test/harness/build-library';

const repoRoot = path.resolve(__dirname, '..', '..');
const buildDir = path.join(repoRoot, 'bench', '.build');

export function buildLibrary(): void {
  buildInto(buildDir);
}

/** The last commit before events were published (issue 11). */
export const BEFORE_EVENTS = '15fd5e7';

/** Compiles lib/ as it was at `commit` into bench/.build-before (inside the repository, so it finds node_modules). */
export function buildBefore(commit: string = BEFORE_EVENTS): string {
  const dir = path.join(repoRoot, 'bench', '.build-before');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  const archive = execFileSync(
    'git',
    ['archive', commit, 'lib', 'lua', 'package.json', 'tsconfig.json', 'tsconfig.build.json'],
    { cwd: repoRoot },
  );
  execFileSync('tar', ['-x', '-C', path.join(dir, 'src')], { input: archive });
  buildInto(dir, path.join(dir, 'src'));
  fs.copyFileSync(path.join(dir, 'src', 'package.json'), path.join(dir, 'package.json'));
  return dir;
}
