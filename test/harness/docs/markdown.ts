/** What the docs checks read from the Markdown pages: their files, code blocks, headings and links. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export const repoRoot = join(__dirname, '..', '..', '..');

/** README.md and every page under docs/, as paths relative to the repository. */
export function docsPages(root: string = repoRoot): string[] {
  const pages = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.md')) pages.push(relative(root, path));
    }
  };
  walk(join(root, 'docs'));
  return pages.sort();
}

export interface CodeBlock {
  /** The language after the opening fence (`ts`, `sh`, ``), lower case. */
  lang: string;
  /** 1-based line of the opening fence; the code starts on the next line. */
  line: number;
  code: string;
}

/** Fenced blocks (``` or ~~~, indented or not, as in a list item), in page order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`).test(lines[j])) {
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
      j++;
    }
    blocks.push({ lang: lang.toLowerCase(), line: i + 1, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** The page with its fenced blocks blanked out (line count kept), so that `#` or `](` in code is not read. */
export function prose(markdown: string): string {
  const lines = markdown.split('\n');
  for (const block of codeBlocks(markdown)) {
    const end = block.line + block.code.split('\n').length;
    for (let i = block.line - 1; i <= end && i < lines.length; i++) lines[i] = '';
  }
  return lines.join('\n');
}

export interface Heading {
  level: number;
  text: string;
  line: number;
}

export function headings(markdown: string): Heading[] {
  return prose(markdown)
    .split('\n')
    .flatMap((text, i) => {
      const match = /^(#{1,6})\s+(.+?)\s*#*\s*$/.exec(text);
      return match ? [{ level: match[1].length, text: match[2], line: i + 1 }] : [];
    });
}

/** GitHub's anchor for a heading: its text as rendered, lower case, punctuation dropped, blanks as hyphens. */
export function slug(heading: string): string {
  const rendered = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link: its text
    .replace(/[*`]/g, '')
    .replace(/<[^>]+>/g, '');
  return rendered
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Every anchor of a page; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text } of headings(markdown)) {
    const base = slug(text);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

export interface Link {
  target: string;
  line: number;
}

/** Inline links and images (`[text](target)`, `![alt](target)`) outside code blocks and code spans. */
export function links(markdown: string): Link[] {
  return prose(markdown)
    .split('\n')
    .flatMap((text, i) =>
      [...text.replace(/`[^`]*`/g, '').matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => ({
        target: m[1],
        line: i + 1,
      })),
    );
}

export function readPage(page: string, root: string = repoRoot): string {
  return readFileSync(join(root, page), 'utf8');
}
