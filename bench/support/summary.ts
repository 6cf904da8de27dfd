/**
 * The Summary table at the top of bench/results/results.md: one row per scenario of the
 * run, each the scenario's own reading of its figures, headed by the commit, date and
 * load it was measured at. BENCHMARKS.md's Summary is this table copied from a full run.
 */
import type { Section } from './context';
import { table } from './stats';

export interface RunMachine {
  date: string;
  commit: string;
  uncommittedLibChanges: string[];
  loadAverageAtStart: number[];
  quick: boolean;
}

/** "**met**" or "**missed**", for a result cell that starts with the verdict on its target. */
export function verdict(met: boolean): string {
  return met ? '**met**' : '**missed**';
}

export function summaryMarkdown(machine: RunMachine, sections: Section[]): string {
  const date = `${machine.date.slice(0, 10)} ${machine.date.slice(11, 16)} UTC`;
  const changes = machine.uncommittedLibChanges.length
    ? ` lib/ and lua/ differed from the commit: ${machine.uncommittedLibChanges.join(', ')}.`
    : '';
  return [
    '## Summary',
    '',
    `${machine.quick ? 'A QUICK run, not for quoting: ' : ''}commit ${machine.commit}, ${date}, load average ` +
      `${machine.loadAverageAtStart[0]} at the start.${changes} Each row is worked out from its section's figures below.`,
    '',
    table(
      ['scenario', 'target', 'this run'],
      sections.map((s) => [s.summary.scenario, s.summary.target, s.summary.result]),
    ),
  ].join('\n');
}
