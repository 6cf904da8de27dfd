/** A small hand-written SVG line chart (no dependencies), for charts the bench writes itself. */

export interface Series {
  name: string;
  points: Array<[x: number, y: number]>;
  /** Dashed, e.g. for a reference line. */
  dashed?: boolean;
  /** Draw as steps (value holds until the next point). */
  step?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  yMin?: number;
  yMax?: number;
  note?: string;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#555555'];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** About five round tick values covering [min, max]. */
function ticks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => span / s <= count) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChart(options: ChartOptions): string {
  const width = options.width ?? 860;
  const height = options.height ?? 420;
  const margin = { left: 70, right: 20, top: 44, bottom: 70 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const all = options.series.flatMap((s) => s.points);
  const xMin = Math.min(...all.map((p) => p[0]));
  const xMax = Math.max(...all.map((p) => p[0]));
  const yMin = options.yMin ?? Math.min(0, ...all.map((p) => p[1]));
  const yMax = options.yMax ?? Math.max(...all.map((p) => p[1])) * 1.08;
  const sx = (x: number) => margin.left + ((x - xMin) / (xMax - xMin || 1)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - yMin) / (yMax - yMin || 1)) * plotH;
  const f = (v: number) => v.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  for (const t of ticks(yMin, yMax)) {
    parts.push(
      `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${f(sy(t))}" y2="${f(sy(t))}" stroke="#e5e5e5"/>`,
      `<text x="${margin.left - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  for (const t of ticks(xMin, xMax, 8)) {
    parts.push(
      `<line x1="${f(sx(t))}" x2="${f(sx(t))}" y1="${margin.top + plotH}" y2="${margin.top + plotH + 5}" stroke="#333"/>`,
      `<text x="${f(sx(t))}" y="${margin.top + plotH + 18}" text-anchor="middle">${t}</text>`,
    );
  }
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${margin.left + plotW / 2}" y="${height - 36}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  options.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts: string[] = [];
    s.points.forEach(([x, y], k) => {
      if (s.step && k > 0) pts.push(`${f(sx(x))},${f(sy(s.points[k - 1][1]))}`);
      pts.push(`${f(sx(x))},${f(sy(y))}`);
    });
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${pts.join(' ')}"/>`,
    );
    const lx = margin.left + 10 + (i % 4) * Math.floor(plotW / 4);
    const ly = height - 16 + 0 * Math.floor(i / 4);
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2.5"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${lx + 28}" y="${ly}">${escapeXml(s.name)}</text>`,
    );
  });
  if (options.note)
    parts.push(
      `<text x="${width - margin.right}" y="${margin.top - 8}" text-anchor="end" fill="#555">${escapeXml(options.note)}</text>`,
    );
  parts.push('</svg>');
  return parts.join('\n');
}
