import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * Every ```ts block of README.md (and of docs/from-throttler.md and docs/observability.md) is type-checked against
 * the library's source, so the examples cannot drift from the API. Each block is its own module; the functions it
 * calls to stand for user code are declared in PLACEHOLDERS.
 */
const root = join(__dirname, '..', '..');
const PLACEHOLDERS = `
declare function callGithub(options?: { signal?: AbortSignal }): Promise<unknown>;
declare function renderPdf(id: string): Promise<string>;
declare function searchIndex(tenantId: string, query: string): Promise<string[]>;
declare function importCsv(path: string): Promise<void>;
declare function fetchRepo(name: string): Promise<unknown>;
declare function exportEverything(signal: AbortSignal): Promise<void>;
declare function planOf(apiKey: string): Promise<'free' | 'pro'>;
declare function verifyPassword(user: string, password: string): Promise<boolean>;
`;

function codeBlocks(markdown: string): Array<{ line: number; code: string }> {
  const blocks: Array<{ line: number; code: string }> = [];
  for (const match of markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
    blocks.push({ line: markdown.slice(0, match.index).split('\n').length, code: match[1] });
  }
  return blocks;
}

function typeErrors(files: Map<string, string>): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext, // top-level await, as in an ES module app
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    esModuleInterop: true,
    paths: { 'nestjs-limiters': [join(root, 'lib/index.ts')] },
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.fileExists = (name) => files.has(name) || ts.sys.fileExists(name);
  host.readFile = (name) => files.get(name) ?? readFile(name);
  host.getSourceFile = (name, version, onError) => {
    const text = files.get(name);
    return text === undefined ? getSourceFile(name, version, onError) : ts.createSourceFile(name, text, version);
  };
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

describe.each([
  ['README.md', 13],
  ['docs/from-throttler.md', 9],
  ['docs/observability.md', 2],
])('%s', (document, examples) => {
  const blocks = codeBlocks(readFileSync(join(root, document), 'utf8'));

  it('has TypeScript examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(examples);
  });

  it('has only examples that compile against the library', () => {
    const files = new Map<string, string>([[join(root, 'readme-placeholders.d.ts'), PLACEHOLDERS]]);
    for (const { line, code } of blocks) {
      // `export {}` makes each block a module even when it has no import.
      files.set(join(root, `${document}.line-${line}.ts`), `${code}\nexport {};\n`);
    }
    expect(typeErrors(files)).toEqual([]);
  });
});
