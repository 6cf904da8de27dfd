/** `npm run typecheck:docs`: compiles the docs' TypeScript examples with ioredis 6 and 5; exits 1 naming each error. */
import { typecheckDocs } from './typecheck-docs';

const { checked, skipped, errors, libraryErrors } = typecheckDocs();
if (libraryErrors > 0)
  console.warn(
    `lib/ has ${libraryErrors} type errors (npm run typecheck names them); its declarations were used anyway.`,
  );
let failed = false;
for (const [major, found] of Object.entries(errors)) {
  for (const error of found) console.error(error);
  console.log(`ioredis ${major}: ${found.length === 0 ? 'no errors' : `${found.length} errors`}`);
  failed ||= found.length > 0;
}
for (const block of skipped) console.log(`not compiled, on purpose: ${block.page}:${block.line} (${block.skipped})`);
console.log(`${checked} TypeScript blocks of README.md and docs/ compiled as a CommonJS strict Nest project.`);
process.exitCode = failed ? 1 : 0;
