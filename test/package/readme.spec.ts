/**
 * The README and docs/ as a reader meets them: a short front page, one topic a page, every TypeScript example
 * compiling in a default Nest project (the same check as `npm run typecheck:docs`), every link and named file
 * resolving, and each integration opening with the command that installs it.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokenLinks, missingPaths } from '../harness/docs/check-links';
import { codeBlocks, docsPages, headings, readPage, slug } from '../harness/docs/markdown';
import { type DocsTypecheck, NOT_COMPILED, typecheckDocs } from '../harness/docs/typecheck-docs';

describe('the README', () => {
  const readme = readPage('README.md');

  it('is at most 450 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(450);
  });

  it('has no ## heading twice, and one Observability section', () => {
    const sections = headings(readme)
      .filter((h) => h.level === 2)
      .map((h) => h.text);
    expect(sections.filter((text, i) => sections.indexOf(text) !== i)).toEqual([]);
    expect(sections.filter((text) => /observability/i.test(text))).toEqual(['Observability']);
  });
});

describe('every docs page', () => {
  it('repeats no heading of its own level (one topic a page, one anchor a heading)', () => {
    const repeated = docsPages().flatMap((page) => {
      const seen = new Set<string>();
      return headings(readPage(page)).flatMap(({ level, text, line }) => {
        const id = `${level}:${slug(text)}`;
        if (!seen.has(id)) return (seen.add(id), []);
        return [`${page}:${line}: ${text}`];
      });
    });
    expect(repeated).toEqual([]);
  });

  it('links only to files and headings that exist', () => {
    expect(brokenLinks()).toEqual([]);
  });

  it('names only files of the repository that exist', () => {
    expect(missingPaths()).toEqual([]);
  });

  it.each([
    ['docs/nest.md', 'With node-redis (the `redis` package)', ['redis']],
    ['docs/nest.md', 'With @liaoliaots/nestjs-redis', ['@liaoliaots/nestjs-redis', 'ioredis']],
    [
      'docs/transports.md',
      'GraphQL',
      ['@nestjs/graphql', '@nestjs/apollo', '@apollo/server', '@as-integrations/express5'],
    ],
    ['docs/transports.md', 'WebSockets', ['@nestjs/websockets']],
    ['docs/transports.md', 'Microservices', ['@nestjs/microservices']],
    ['docs/observability.md', 'Metrics (OpenTelemetry)', ['@opentelemetry/api']],
    ['docs/observability.md', 'Health (@nestjs/terminus)', ['@nestjs/terminus']],
  ])('%s, "%s": starts with the command that installs it', (page, heading, packages) => {
    const markdown = readPage(page);
    const at = headings(markdown).find((h) => h.text === heading);
    expect(at).toBeDefined();
    const lines = markdown.split('\n');
    const firstContent = lines.findIndex((text, i) => i >= at!.line && text.trim() !== '');
    const [block] = codeBlocks(lines.slice(firstContent).join('\n'));
    expect({ startsWithBlock: lines[firstContent].startsWith('```'), lang: block.lang }).toEqual({
      startsWithBlock: true,
      lang: 'sh',
    });
    expect(block.code.split('\n')).toHaveLength(1);
    expect(block.code).toMatch(/^npm install /);
    for (const name of packages) expect(block.code.split(/\s+/)).toContain(name);
  });
});

describe('the link check', () => {
  it('finds a missing file, a missing anchor and a link out of the repository, not links inside code', () => {
    const root = mkdtempSync(join(tmpdir(), 'nestjs-limiters-links-'));
    try {
      mkdirSync(join(root, 'docs'));
      writeFileSync(
        join(root, 'README.md'),
        [
          '# Title',
          '## Two `words`',
          '[ok](#two-words) [a](#none) [b](docs/gone.md)',
          '[c](https://github.com/nestjs-limiters/nestjs-limiters/blob/main/docs/page.md#nowhere) [d](../../x.md)',
          '```ts',
          "const link = '[e](#in-code)';",
          '```',
        ].join('\n'),
      );
      writeFileSync(join(root, 'docs', 'page.md'), '# Page\n\n[up](../README.md#two-words) `lib/nothing.ts`\n');
      expect(brokenLinks(root)).toEqual([
        'README.md:3: #none (no heading #none in README.md)',
        'README.md:3: docs/gone.md (no file docs/gone.md)',
        'README.md:4: https://github.com/nestjs-limiters/nestjs-limiters/blob/main/docs/page.md#nowhere (no heading #nowhere in docs/page.md)',
        'README.md:4: ../../x.md (outside the repository)',
      ]);
      expect(missingPaths(root)).toEqual(['docs/page.md:3: lib/nothing.ts']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('the TypeScript examples of README.md and docs/, compiled as a CommonJS strict Nest project', () => {
  // Known-bad blocks compiled beside the pages' own: the check must name their page and line.
  const canaries = [
    {
      page: 'docs/canary.md',
      line: 10,
      code: "import type { SemaphoreLimiter } from 'nestjs-limiters';\nconst limiter: SemaphoreLimiter | undefined = undefined;\nconst n: number = limiter;",
    },
    { page: 'docs/canary.md', line: 20, code: "import { Redis } from 'ioredis';\nawait new Redis().ping();" },
    { page: 'docs/canary.md', line: 30, code: '// not compiled: a fragment on purpose\n@Get() search() {}' },
  ];
  let result: DocsTypecheck;

  beforeAll(() => {
    result = typecheckDocs({ extraBlocks: canaries });
  }, 300_000);

  const pagesErrors = (major: 5 | 6) => result.errors[major].filter((e) => !e.startsWith('docs/canary.md'));

  it('has examples on the pages', () => {
    const compiledCanaries = canaries.filter((c) => !NOT_COMPILED.test(c.code)).length;
    expect(result.checked - compiledCanaries).toBeGreaterThanOrEqual(40);
  });

  it('compile with ioredis 6', () => {
    expect(pagesErrors(6)).toEqual([]);
  });

  it('compile with ioredis 5', () => {
    expect(pagesErrors(5)).toEqual([]);
  });

  it('are skipped when they open with "// not compiled: <why>", and then only', () => {
    const canarySkips = result.skipped.filter((b) => b.page === 'docs/canary.md');
    expect(canarySkips.map((b) => `${b.line}: ${b.skipped}`)).toEqual(['30: a fragment on purpose']);
    for (const block of result.skipped) expect(block.code.split('\n', 1)[0]).toMatch(NOT_COMPILED);
  });

  it('fail on a broken block, naming its page, line and column (a type error, a top-level await)', () => {
    for (const major of [5, 6] as const) {
      const canaryErrors = result.errors[major].filter((e) => e.startsWith('docs/canary.md'));
      expect(canaryErrors.map((e) => e.split(': ').slice(0, 2).join(': '))).toEqual([
        'docs/canary.md:13:7: TS2322',
        'docs/canary.md:22:1: TS1378',
      ]);
    }
  });
});
