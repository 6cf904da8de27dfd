/**
 * Type-checks every ```ts block of README.md and docs/**.md as a default Nest project compiles it (CommonJS,
 * strict, decorators with metadata), against the library's published types: the declarations `npm run build`
 * emits (internal members stripped), made in memory. Each block is its own module. A block whose first line
 * is `// not compiled: <why>` is skipped on purpose, and the page says so there.
 */
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { codeBlocks, docsPages, readPage, repoRoot } from './markdown';

/** The application functions examples call to stand for the user's own code. */
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

const CHECKED = new Set(['ts', 'typescript']);
export const NOT_COMPILED = /^\s*\/\/ not compiled: \S/;

/** The ioredis majors the examples are compiled with: the installed 6, and 5 through the `ioredis5` alias. */
export const IOREDIS_MAJORS = { 6: 'ioredis', 5: 'ioredis5' } as const;
export type IoredisMajor = keyof typeof IOREDIS_MAJORS;

export interface DocsBlock {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Set when the block opens with `// not compiled: …`. */
  skipped?: string;
}

/** Every TypeScript block of the docs, with those marked as not compiled. */
export function docsBlocks(root: string = repoRoot): DocsBlock[] {
  return docsPages(root).flatMap((page) =>
    codeBlocks(readPage(page, root))
      .filter((block) => CHECKED.has(block.lang))
      .map(({ line, code }) => markSkipped({ page, line, code })),
  );
}

/** The block with `skipped` set to its reason when it opens with `// not compiled: <why>`. */
function markSkipped({ page, line, code }: DocsBlock): DocsBlock {
  const first = code.split('\n', 1)[0];
  return NOT_COMPILED.test(first)
    ? { page, line, code, skipped: first.replace(/^\s*\/\/ not compiled:\s*/, '') }
    : { page, line, code };
}

/** The library's .d.ts files as `npm run build` emits them, keyed by absolute path under `outDir`. */
function libraryDeclarations(
  root: string,
  outDir: string,
): { declarations: Map<string, string>; libraryErrors: number } {
  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.build.json could not be read');
  const options: ts.CompilerOptions = {
    ...config.options,
    outDir,
    declaration: true,
    emitDeclarationOnly: true,
    declarationMap: false,
    sourceMap: false,
    noEmit: false,
    incremental: false,
  };
  const program = ts.createProgram(config.fileNames, options);
  const declarations = new Map<string, string>();
  const { diagnostics } = program.emit(undefined, (name, text) => declarations.set(name, text));
  // lib/'s own errors are `npm run typecheck`'s to report; the declarations are emitted all the same.
  const libraryErrors = [...ts.getPreEmitDiagnostics(program), ...diagnostics].filter(
    (d) => d.category === ts.DiagnosticCategory.Error,
  ).length;
  return { declarations, libraryErrors };
}

/** The compiler options of a project made by `nest new`, strict, with ioredis of the given major. */
export function nestProjectOptions(root: string, ioredis: IoredisMajor, library: string): ts.CompilerOptions {
  const ioredisDir = join(root, 'node_modules', IOREDIS_MAJORS[ioredis]);
  return {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2021,
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    types: ['node'],
    noEmit: true,
    paths: {
      'nestjs-limiters': [library],
      ioredis: [ioredisDir],
      'ioredis/*': [`${ioredisDir}/*`],
    },
  };
}

/** Where an error is, in the page's own lines: `README.md:120:7: message`. */
function format(diagnostics: readonly ts.Diagnostic[], blockAt: (file: string) => DocsBlock | undefined): string[] {
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return `TS${d.code}: ${message}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    const block = blockAt(d.file.fileName);
    const where = block
      ? `${block.page}:${block.line + 1 + line}:${character + 1}`
      : `${d.file.fileName}:${line + 1}:${character + 1}`;
    return `${where}: TS${d.code}: ${message}`;
  });
}

export interface DocsTypecheck {
  /** Blocks compiled. */
  checked: number;
  /** Blocks marked `// not compiled: …`. */
  skipped: DocsBlock[];
  /** Errors per ioredis major, each naming page, line and column. */
  errors: Record<IoredisMajor, string[]>;
  /** Type errors in lib/ itself (`npm run typecheck` reports them); the docs were checked against its declarations anyway. */
  libraryErrors: number;
}

export interface TypecheckOptions {
  root?: string;
  majors?: IoredisMajor[];
  /** Blocks compiled beside the pages' own (a spec's known-bad blocks, to see the check fail). */
  extraBlocks?: DocsBlock[];
}

export function typecheckDocs({
  root = repoRoot,
  majors = [6, 5],
  extraBlocks = [],
}: TypecheckOptions = {}): DocsTypecheck {
  const blocks = [...docsBlocks(root), ...extraBlocks.map(markSkipped)];
  const compiled = blocks.filter((block) => !block.skipped);
  // Virtual files, in a folder of the repository so that imports find its node_modules.
  const virtual = join(root, '.docs-typecheck');
  const libraryDir = join(virtual, 'nestjs-limiters');
  const { declarations: files, libraryErrors } = libraryDeclarations(root, libraryDir);
  const blockFiles = new Map<string, DocsBlock>();
  for (const block of compiled) {
    const file = join(virtual, `${block.page.replace(/[/\\]/g, '__')}.line-${block.line}.ts`);
    blockFiles.set(file, block);
    // `export {}` makes each block a module even when it imports nothing, so blocks never share names.
    files.set(file, `${block.code}\nexport {};\n`);
  }
  const placeholders = join(virtual, 'placeholders.d.ts');
  files.set(placeholders, PLACEHOLDERS);
  const virtualDirs = new Set([...files.keys()].flatMap((file) => ancestors(dirname(file), root)));

  const errors = {} as Record<IoredisMajor, string[]>;
  for (const major of majors) {
    const options = nestProjectOptions(root, major, join(libraryDir, 'index.d.ts'));
    const host = ts.createCompilerHost(options);
    const { readFile, getSourceFile, fileExists, directoryExists } = host;
    host.fileExists = (name) => files.has(name) || fileExists.call(host, name);
    host.readFile = (name) => files.get(name) ?? readFile.call(host, name);
    host.directoryExists = (name) => virtualDirs.has(name) || (directoryExists?.call(host, name) ?? true);
    host.getSourceFile = (name, version, onError) => {
      const text = files.get(name);
      return text === undefined
        ? getSourceFile.call(host, name, version, onError)
        : ts.createSourceFile(name, text, version);
    };
    const program = ts.createProgram([placeholders, ...blockFiles.keys()], options, host);
    errors[major] = format(ts.getPreEmitDiagnostics(program), (file) => blockFiles.get(file));
  }
  return { checked: compiled.length, skipped: blocks.filter((block) => block.skipped), errors, libraryErrors };
}

function ancestors(dir: string, root: string): string[] {
  const result: string[] = [];
  for (let at = dir; at.startsWith(root) && at !== root; at = dirname(at)) result.push(at);
  return result;
}
