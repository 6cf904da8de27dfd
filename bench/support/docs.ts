/**
 * BENCHMARKS.md's figures come from one run: bench/results/results.md marks the run's header,
 * its Summary and each scenario's section as blocks (`<!-- bench:<id> -->` … `<!-- /bench:<id> -->`),
 * and BENCHMARKS.md holds the same markers between its own prose. Filling replaces what is
 * between each pair of markers there with the run's block of that id and leaves the rest alone,
 * so no table is typed in by hand and no prose is overwritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');

const OPEN = /<!-- bench:([a-z0-9-]+) -->\n/g;
const close = (id: string) => `<!-- /bench:${id} -->`;

/** `body` between the markers of block `id`. */
export function block(id: string, body: string): string {
  return `<!-- bench:${id} -->\n${body.trim()}\n${close(id)}`;
}

interface Found {
  id: string;
  /** Offsets of the body: after the opening marker's line, up to the closing marker. */
  start: number;
  end: number;
}

function find(md: string, where: string): Found[] {
  const found: Found[] = [];
  for (const match of md.matchAll(OPEN)) {
    const id = match[1];
    const start = match.index + match[0].length;
    const end = md.indexOf(close(id), start);
    if (end < 0) throw new Error(`${where}: <!-- bench:${id} --> has no ${close(id)}`);
    if (found.some((f) => f.id === id)) throw new Error(`${where}: block ${id} appears twice`);
    found.push({ id, start, end });
  }
  return found;
}

/** The blocks of a results file, by id. */
export function blocksOf(md: string, where: string): Map<string, string> {
  return new Map(find(md, where).map((f) => [f.id, md.slice(f.start, f.end)]));
}

/**
 * `docs` with every block replaced by the run's block of the same id. Relative links in the
 * run's blocks point from the results folder; `resultsFromDocs` (the results folder seen
 * from the docs' folder) is put in front of them. A block of the docs that the run lacks,
 * or a block of the run that the docs do not place, is an error: nothing is left stale or
 * silently dropped.
 */
export function fillDocs(docs: string, results: Map<string, string>, resultsFromDocs: string): string {
  const placed = find(docs, 'BENCHMARKS.md');
  const missing = placed.filter((f) => !results.has(f.id)).map((f) => f.id);
  if (missing.length) throw new Error(`the run has no block for BENCHMARKS.md's ${missing.join(', ')}`);
  const unplaced = [...results.keys()].filter((id) => !placed.some((f) => f.id === id));
  if (unplaced.length) throw new Error(`BENCHMARKS.md has no <!-- bench:… --> markers for ${unplaced.join(', ')}`);
  let out = '';
  let at = 0;
  for (const f of placed) {
    out += docs.slice(at, f.start) + relink(results.get(f.id)!, resultsFromDocs);
    at = f.end;
  }
  return out + docs.slice(at);
}

/** Markdown link and image targets that are relative paths, seen from another folder. */
function relink(md: string, prefix: string): string {
  return md.replace(/\]\(([^)\s]+)\)/g, (whole, target: string) =>
    /^([a-z]+:|#|\/)/i.test(target) ? whole : `](${path.posix.join(prefix, target)})`,
  );
}

/**
 * Fills BENCHMARKS.md from bench/results/results.md (the last run of every scenario) and
 * answers the file it wrote. `npm run bench:docs` runs it alone, e.g. after editing the prose.
 */
export function fillBenchmarksMd(): string {
  const docsPath = path.join(repoRoot, 'BENCHMARKS.md');
  const resultsPath = path.join(repoRoot, 'bench', 'results', 'results.md');
  const results = blocksOf(fs.readFileSync(resultsPath, 'utf8'), 'bench/results/results.md');
  const resultsFromDocs = path.relative(path.dirname(docsPath), path.dirname(resultsPath));
  fs.writeFileSync(docsPath, fillDocs(fs.readFileSync(docsPath, 'utf8'), results, resultsFromDocs));
  return path.relative(repoRoot, docsPath);
}
