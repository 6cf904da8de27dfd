/** Links between the docs pages: every relative link and every link to this repository resolves, anchor included. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { anchors, docsPages, links, readPage, repoRoot } from './markdown';

/** Links to this repository's files on GitHub, checked against the working tree (the README links so: it is published). */
const REPOSITORY_URLS = [
  /^https:\/\/github\.com\/nestjs-limiters\/nestjs-limiters\/(?:blob|tree)\/main\/([^#?]*)(#.*)?$/,
  /^https:\/\/raw\.githubusercontent\.com\/nestjs-limiters\/nestjs-limiters\/main\/([^#?]*)(#.*)?$/,
];

/** Broken links of every page, as `page:line: target (why)`. */
export function brokenLinks(root: string = repoRoot): string[] {
  const problems: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (page: string): Set<string> => {
    let found = anchorsOf.get(page);
    if (!found) anchorsOf.set(page, (found = anchors(readPage(page, root))));
    return found;
  };

  for (const page of docsPages(root)) {
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
