/**
 * The folder list is the architecture: core depends on nothing of ours but itself, the
 * store on core, the Nest layer on both; and no file imports itself back through others.
 * Type-only imports count: they are dependencies of the design even when erased.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LIB = join(__dirname, '..', '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** Each lib file and the lib files it imports (by relative path, as lib does); `runtime`: leaving out type-only imports. */
function importGraph({ runtime = false } = {}): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(LIB)) {
    const text = readFileSync(file, 'utf8');
    const statements = [...text.matchAll(/^(?:import|export)\s([^'";]*?)from\s+'(\.[^']+)'/gms)].filter(
      ([, clause]) => !runtime || !/^type\s|^\{\s*(type\s+\w+\s*,?\s*)+\}\s*$/.test(clause.trim()),
    );
    const targets = statements.map((m) => {
      const base = resolve(dirname(file), m[2]);
      const candidates = [`${base}.ts`, join(base, 'index.ts')];
      return relative(
        LIB,
        candidates.find((c) => {
          try {
            return statSync(c).isFile();
          } catch {
            return false;
          }
        }) ?? `${base}.ts`,
      );
    });
    graph.set(relative(LIB, file), targets);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (file: string) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      found.push([...path.slice(path.indexOf(file)), file]);
      return;
    }
    state.set(file, 'open');
    path.push(file);
    for (const next of graph.get(file) ?? []) visit(next);
    path.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file);
  return found;
}

describe('the import graph of lib/', () => {
  const graph = importGraph();

  it('has no cycles', () => {
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('keeps core free of the store and the Nest layer, and the store free of the Nest layer', () => {
    const wrong = [...graph].flatMap(([file, targets]) =>
      targets
        .filter(
          (t) =>
            (file.startsWith('core/') && !t.startsWith('core/')) ||
            (file.startsWith('store/') && t.startsWith('nest/')),
        )
        .map((t) => `${file} -> ${t}`),
    );
    expect(wrong).toEqual([]);
  });

  it('keeps the decorators light: they load no Redis client and no pipeline', () => {
    const loaded = importGraph({ runtime: true });
    const reach = (file: string, seen = new Set<string>()): Set<string> => {
      for (const next of loaded.get(file) ?? []) if (!seen.has(next)) reach(next, seen.add(next));
      return seen;
    };
    for (const decorator of ['nest/decorators/semaphore.decorator.ts', 'nest/decorators/token-bucket.decorator.ts']) {
      const reached = [...reach(decorator)];
      expect({
        decorator,
        heavy: reached.filter((f) => f.startsWith('store/') || f.startsWith('nest/pipeline/admission')),
      }).toEqual({ decorator, heavy: [] });
      // ioredis is imported by the files that use it: none of them may be reached.
      const ioredis = reached.filter((f) =>
        /from 'ioredis'/.test(readFileSync(join(LIB, f), 'utf8').replace(/import type [^;]+;/g, '')),
      );
      expect({ decorator, ioredis }).toEqual({ decorator, ioredis: [] });
    }
  });
});
