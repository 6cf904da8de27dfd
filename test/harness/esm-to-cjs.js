/**
 * Jest transform for the ES-module-only packages (Nest 12 and a few of its dependencies).
 * Jest on Node 20 cannot require ES modules, so they are compiled to CommonJS here.
 * `import.meta.url` has no CommonJS form in TypeScript's output; the file URL of the
 * module is what it means, so that is what it becomes.
 */
const ts = require('typescript');

module.exports = {
  process(source, filename) {
    const patched = source.replace(/import\.meta\.url/g, "require('url').pathToFileURL(__filename).href");
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
