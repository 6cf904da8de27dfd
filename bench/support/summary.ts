/**
 * The head of bench/results/results.md: the machine and run, and the Summary table, one row
 * per scenario of the run, each the scenario's own reading of its figures, headed by the
 * commit, date and load it was measured at. A full run fills BENCHMARKS.md's copies of both
 * (bench/support/docs.ts).
 */
import type { Section } from './context';
import { table } from './stats';

export interface RunMachine {
  date: string;
  commit: string;
  uncommittedLibChanges: string[];
  nproc: number;
  cpu: string;
  loadAverageAtStart: number[];
  node: string;
  redis: string;
  packages: Record<string, string>;
  quick: boolean;
}

/** "**met**" or "**missed**", for a result cell that starts with the verdict on its target. */
export function verdict(met: boolean): string {
  return met ? '**met**' : '**missed**';
}

const when = (machine: RunMachine) => `${machine.date.slice(0, 10)} ${machine.date.slice(11, 16)} UTC`;

/** The bench measures the working tree: the files of lib/ and lua/ that differed from the commit. */
const changes = (machine: RunMachine) =>
  machine.uncommittedLibChanges.length
    ? `; lib/ and lua/ differed from it: ${machine.uncommittedLibChanges.map((l) => l.trim()).join(', ')}`
    : '';

/** The machine and the run, as a two-column table. */
export function machineMarkdown(machine: RunMachine, scenarios: string[], totalSeconds: number): string {
  const packages = Object.entries(machine.packages).map(([name, version]) => `${name} ${version}`);
  return table(
    ['', ''],
    [
      ['CPU', `\`nproc\` = ${machine.nproc}, ${machine.cpu}`],
      ['Node', machine.node],
      ['Redis', `${machine.redis}, \`--save '' --appendonly no\`, loopback`],
      ['Packages', packages.join(', ')],
      ['Library', `commit ${machine.commit}${changes(machine)}`],
      [
        'Run',
        `${machine.quick ? 'a QUICK run, not for quoting: ' : ''}${when(machine)}, ${totalSeconds} s in total, ` +
          `load average ${machine.loadAverageAtStart.join(' / ')} (1 / 5 / 15 min) at the start; scenarios ` +
          scenarios.join(', '),
      ],
    ],
  );
}

/** The Summary: one row per scenario of the run, under the commit, date and load. */
export function summaryMarkdown(machine: RunMachine, sections: Section[]): string {
  return [
    `${machine.quick ? 'A QUICK run, not for quoting: ' : ''}commit ${machine.commit}, ` +
      `${when(machine)}, load average ${machine.loadAverageAtStart[0]} at the start` +
      (machine.uncommittedLibChanges.length
        ? ` (${machine.uncommittedLibChanges.length} files of lib/ and lua/ differed from the commit, listed under Machine and run)`
        : '') +
      ". Each row is worked out from its section's figures.",
    '',
    table(
      ['scenario', 'target', 'this run'],
      sections.map((s) => [s.summary.scenario, s.summary.target, s.summary.result]),
    ),
  ].join('\n');
}
