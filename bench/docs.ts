/** `npm run bench:docs`: fills BENCHMARKS.md's tables and Summary from bench/results/results.md (bench/support/docs.ts). */
import { fillBenchmarksMd } from './support/docs';

console.log(`filled ${fillBenchmarksMd()} from bench/results/results.md`);
