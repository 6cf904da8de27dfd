/**
 * A limit kind core knows and the Nest layer has no descriptor of must fail the build, not
 * only the first call that declares one: lib/nest/kinds/limit-kinds.ts is compiled here with
 * core's LimitKind widened by one made-up kind, and with it as it is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { LIMIT_KINDS } from '../../../lib/nest/kinds/limit-kinds';

const root = path.resolve(__dirname, '../../..');
const LIMIT_KIND_FILE = path.join(root, 'lib/core/limit-kind.ts');
const LIMIT_KINDS_FILE = path.join(root, 'lib/nest/kinds/limit-kinds.ts');

/** The errors tsc finds in limit-kinds.ts when core's LimitKind also has `extra`. */
function errorsWithKind(extra: string | undefined): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  )!;
  const options = { ...config.options, noEmit: true, types: ['node'] };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  host.readFile = (file) => {
    const text = readFile(file);
    if (extra === undefined || path.resolve(file) !== LIMIT_KIND_FILE || text === undefined) return text;
    return text.replace(/export type LimitKind =/, `export type LimitKind = '${extra}' |`);
  };
  const program = ts.createProgram([LIMIT_KINDS_FILE], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && path.resolve(d.file.fileName) === LIMIT_KINDS_FILE)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('the list of limit kinds', () => {
  it('fails to compile while a LimitKind has no descriptor, naming the kind, and compiles as it is', () => {
    expect(fs.readFileSync(LIMIT_KIND_FILE, 'utf8')).toMatch(/export type LimitKind =/);
    expect(errorsWithKind('made-up-kind')).toEqual([
      expect.stringContaining(`Type '"made-up-kind"' does not satisfy the constraint 'never'`),
    ]);
    expect(errorsWithKind(undefined)).toEqual([]);
  });

  it('spells each kind once: kinds, option keys, defaults keys, status options and decorators all distinct', () => {
    for (const field of ['optionsKey', 'defaultsKey', 'statusOption', 'decorator'] as const) {
      const spellings = LIMIT_KINDS.map((k) => k.words[field]);
      expect(new Set(spellings).size).toBe(LIMIT_KINDS.length);
    }
    expect(new Set(LIMIT_KINDS.map((k) => k.kind)).size).toBe(LIMIT_KINDS.length);
  });
});
