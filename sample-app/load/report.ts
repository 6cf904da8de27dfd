/** What the load tool prints: a live progress line while it runs, and the summary at the end. */
import type { Percentiles, Summary } from './figures';

export interface Progress {
  elapsedMs: number;
  durationMs: number;
  sent: number;
  ok: number;
  tooMany: number;
  other: number;
  inFlight: number;
  /** Calls in flight at the slow API and the peak so far, as the app last reported them. */
  upstream?: { inFlight: number; peak: number; capacity: number };
}

const BAR_WIDTH = 24;

/**
 * On a terminal, one line redrawn in place; elsewhere (CI logs, a pipe) a plain line
 * a second, since carriage returns would pile up there.
 */
export class ProgressLine {
  private lastPlainAt = -Infinity;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  update(progress: Progress): void {
    if (this.out.isTTY) {
      this.out.write(`\r${line(progress)}\x1b[K`);
      this.drawn = true;
    } else if (progress.elapsedMs - this.lastPlainAt >= 1_000) {
      this.lastPlainAt = progress.elapsedMs;
      this.out.write(`${line(progress)}\n`);
    }
  }

  /** Leaves the last drawn line in place and moves below it. */
  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

function line(p: Progress): string {
  const done = Math.min(1, p.elapsedMs / p.durationMs);
  const filled = Math.round(done * BAR_WIDTH);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const upstream = p.upstream
    ? ` │ slow API ${p.upstream.inFlight}/${p.upstream.capacity} now, peak ${p.upstream.peak}`
    : '';
  return (
    `${bar} ${String(Math.round(done * 100)).padStart(3)}% ${(p.elapsedMs / 1_000).toFixed(1)}s │ ` +
    `sent ${p.sent} · 2xx ${p.ok} · 429 ${p.tooMany}${p.other ? ` · other ${p.other}` : ''} · in flight ${p.inFlight}${upstream}`
  );
}

export function formatSummary(s: Summary): string {
  const { status, concurrency, rate } = s;
  const check = (ok: boolean) => (ok ? '✓' : '✗');
  const atCapacity = concurrency.peak === concurrency.capacity;
  const lines = [
    '',
    `Summary (limits in ${s.store})`,
    `  requests       ${s.sent} in ${s.seconds.toFixed(1)} s: 2xx ${status.ok} · 429 ${status.tooMany} · other ${status.other} · failed ${status.failed}`,
    `  concurrency    peak ${concurrency.peak} calls at once at the slow API, capacity ${concurrency.capacity} ` +
      `${check(concurrency.peak <= concurrency.capacity)} never above${atCapacity ? ', reached' : ''} (measured by the app)`,
    `  admitted rate  ${perSecond(rate.admitted)} against ${perSecond(rate.configured)} configured ` +
      `(${perSecond(rate.perKeyConfigured)} per key × ${Object.keys(rate.byKey).length} keys, after a first burst of ${rate.burst} per key; ` +
      'from the admission times stamped on 2xx answers)',
    ...Object.entries(rate.byKey).map(([key, r]) => `    ${key.padEnd(14)}${perSecond(r)}`),
    `  2xx overall    ${perSecond(rate.raw)} over the whole run, burst included; the app counted ${s.appAdmissions} admissions`,
    `  latency 2xx    ${latency(s.latency.ok)}`,
    `  latency 429    ${latency(s.latency.tooMany)}`,
  ];
  return lines.join('\n');
}

function perSecond(rate: number | undefined): string {
  return rate === undefined ? 'n/a (run too short)' : `${rate.toFixed(1)}/s`;
}

function latency(p: Percentiles | undefined): string {
  if (!p) return 'none';
  return `p50 ${p.p50.toFixed(1)} ms · p90 ${p.p90.toFixed(1)} ms · p99 ${p.p99.toFixed(1)} ms`;
}
