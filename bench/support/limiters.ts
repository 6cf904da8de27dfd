/**
 * The library under test, as compiled by tsc into bench/.build (see build.ts): Nest's
 * dependency injection needs the decorator metadata tsc emits and tsx does not.
 */
import * as path from 'node:path';

export const BUILD_DIR = path.resolve(__dirname, '..', '.build');

type Library = typeof import('../../lib');

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const lib: Library = require(path.join(BUILD_DIR, 'dist'));
