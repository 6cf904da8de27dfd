/** Links between the docs pages: every relative link and every link to this repository resolves, anchor included. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { anchors, docsPages, links, prose, readPage, repoRoot } from './markdown';

/** Links to this repository's files on GitHub, checked against the working tree (the README links so: it is published). */
const REPOSITORY_URLS = [
  /^https:\/\/github\.com\/nestjs-limiters\/nestjs-limiters\/(?:blob|tree)\/main\/([^#?]*)(#.*)?$/,
  /^https:\/\/raw\.githubusercontent\.com\/nestjs-limiters\/nestjs-limiters\/main\/([^#?]*)(#.*)?$/,
];

/** The docs pages and the other Markdown files that link into them. */
export function linkedPages(root: string = repoRoot): string[] {
  const others = ['BENCHMARKS.md', 'CHANGELOG.md', 'sample-app/README.md'];
  return [...docsPages(root), ...others.filter((page) => existsSync(join(root, page)))];
}

/** Broken links of every page, as `page:line: target (why)`. */
export function brokenLinks(root: string = repoRoot): string[] {
  const problems: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (page: string): Set<string> => {
    let found = anchorsOf.get(page);
    if (!found) anchorsOf.set(page, (found = anchors(readPage(page, root))));
    return found;
  };

  for (const page of linkedPages(root)) {
    for (const { target, line } of links(readPage(page, root))) {
      const at = `${page}:${line}: ${target}`;
      let path: string;
      let anchor: string | undefined;
      const repository = REPOSITORY_URLS.map((pattern) => pattern.exec(target)).find(Boolean);
      if (repository) {
        path = normalize(decodeURIComponent(repository[1])).replace(/\/$/, '');
        anchor = repository[2]?.slice(1);
      } else if (/^[a-z][a-z+.-]*:/i.test(target)) {
        continue; // another site, mailto:
      } else if (target.startsWith('#')) {
        path = page;
        anchor = target.slice(1);
      } else {
        const [file, hash] = target.split('#', 2);
        path = relative(root, join(root, dirname(page), decodeURIComponent(file)));
        anchor = hash;
        if (path.startsWith('..')) {
          problems.push(`${at} (outside the repository)`);
          continue;
        }
      }
      const file = join(root, path);
      if (!existsSync(file)) {
        problems.push(`${at} (no file ${path})`);
        continue;
      }
      if (anchor === undefined || anchor === '') continue;
      if (statSync(file).isDirectory() || !path.endsWith('.md')) {
        problems.push(`${at} (an anchor on a file that is not a Markdown page)`);
      } else if (!anchorsIn(path).has(decodeURIComponent(anchor))) {
        problems.push(`${at} (no heading #${anchor} in ${path})`);
      }
    }
  }
  return problems;
}

/** Files of this repository a page names in a code span (`lib/…`, `test/…`): each must exist, or the part before a `*`. */
export function missingPaths(root: string = repoRoot): string[] {
  const problems: string[] = [];
  for (const page of docsPages(root)) {
    prose(readPage(page, root))
      .split('\n')
      .forEach((text, i) => {
        for (const [, path] of text.matchAll(/`((?:lib|lua|test|bench|sample-app|docs|\.ci)\/[^`\s]*)`/g)) {
          const fixed = path.split('*', 1)[0];
          if (!existsSync(join(root, fixed))) problems.push(`${page}:${i + 1}: ${path}`);
        }
      });
  }
  return problems;
}
