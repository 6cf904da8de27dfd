/**
 * Debian's headless chromium, run once per page load with a fresh profile. The flags keep it
 * off the network it does not have (no component updates, sync or background fetches), so
 * a run lasts about as long as its virtual-time budget.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-extensions',
  '--mute-audio',
];

async function chromium(args: string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'limiters-chromium-'));
  try {
    const { stdout } = await run('chromium', [...FLAGS, `--user-data-dir=${profile}`, ...args], {
      timeout: 45_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The DOM as the page's scripts left it after `budgetMs` of virtual time. */
export function dumpDom(url: string, budgetMs = 2_500): Promise<string> {
  return chromium([`--virtual-time-budget=${budgetMs}`, '--dump-dom', url]);
}

/** A PNG of the page after `budgetMs` of virtual time. */
export async function screenshot(url: string, file: string, budgetMs = 2_500): Promise<void> {
  await chromium([
    `--virtual-time-budget=${budgetMs}`,
    `--screenshot=${file}`,
    '--window-size=1200,800',
    '--hide-scrollbars',
    url,
  ]);
}
