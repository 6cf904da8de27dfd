/**
 * Compiles .ts files as a process requires them, one file at a time with TypeScript's own
 * transpiler (as jest's ts-jest does here), decorator metadata included: what a worker that
 * starts a Nest app needs. tsx compiles with esbuild, which writes no decorator metadata,
 * and Nest's injection of a constructor's parameters reads it.
 * Used as `node --require test/harness/ts-require.cjs worker.ts` (startWorker's `nest` option).
 */
const fs = require('node:fs');
const ts = require('typescript');

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  inlineSourceMap: true,
};

require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { outputText } = ts.transpileModule(source, { fileName: filename, compilerOptions });
  module._compile(outputText, filename);
};
