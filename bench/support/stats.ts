/** Percentiles and summaries for the bench: every figure is quoted as a median with min/max over repeats. */

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length };
}

/** Rounds to `digits` significant decimals without trailing noise. */
export function num(value: number, decimals = 2): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** "median (min–max)" */
export function fmtSpread(s: Spread, decimals = 2, unit = ''): string {
  if (s.n === 0) return 'n/a';
  if (s.n === 1) return `${num(s.median, decimals)}${unit}`;
  return `${num(s.median, decimals)}${unit} (${num(s.min, decimals)}–${num(s.max, decimals)})`;
}

export function pct(ratio: number, decimals = 0): string {
  return Number.isFinite(ratio) ? `${num(ratio * 100, decimals)}%` : 'n/a';
}

/** A Markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
