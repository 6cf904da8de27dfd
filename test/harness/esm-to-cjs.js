/**
 * Jest transform for the ES-module-only packages (Nest 12 and a few of its dependencies).
 * Jest on Node 20 cannot require ES modules, so they are compiled to CommonJS here.
 * `import.meta.url` has no CommonJS form in TypeScript's output; the file URL of the
 * module is what it means, so that is what it becomes (and `import.meta.resolve` and
 * `import.meta.dirname` their CommonJS counterparts).
 */
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const ts = require('typescript');

/** Jest's cache key leaves out the transform's own code: a change here would be ignored. */
const ownSource = readFileSync(__filename, 'utf8');

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha1').update(ownSource).update(ts.version).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    const patched = source
      // `const require = createRequire(import.meta.url)` (@nestjs/mapped-types) would redeclare
      // CommonJS's own require, a SyntaxError; that require is the one it wants anyway.
      .replace(/\b(?:const|let|var)\s+require\s*=\s*createRequire\(\s*import\.meta\.url\s*\);?/g, '')
      .replace(/import\.meta\.url/g, "require('url').pathToFileURL(__filename).href")
      // @nestjs/terminus asks whether an optional peer is installed without loading it.
      .replace(/import\.meta\.resolve\(/g, 'require.resolve(')
      .replace(/import\.meta\.dirname/g, '__dirname');
    const { outputText } = ts.transpileModule(patched, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: false,
      },
    });
    return { code: outputText };
  },
};
