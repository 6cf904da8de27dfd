import { createHash } from 'node:crypto';
import { LIMIT_KINDS } from '../kinds/limit-kinds';

/**
 * The board's page: one HTML document with its style and script inline, so it needs no build
 * step and fetches nothing but its own data. The Content-Security-Policy allows exactly these
 * two inline blocks (by hash) and requests to the page's own origin, so even a limiter name
 * crafted as markup could not load or run anything; the script also only ever sets textContent.
 */
const STYLE = `
:root { color-scheme: light dark; --ok: #2f9e44; --warn: #e8590c; --bad: #e03131; --muted: #868e96; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
#status { color: var(--muted); }
#status.error { color: var(--bad); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid rgba(128,128,128,.3); white-space: nowrap; }
th { font-weight: 600; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
meter { width: 90px; vertical-align: middle; margin-left: 6px; }
.tag { font-size: 11px; padding: 1px 6px; border-radius: 8px; margin-left: 6px; background: rgba(128,128,128,.2); }
.tag.shadow { background: rgba(232,89,12,.25); }
.refused { color: var(--bad); }
.note { color: var(--warn); }
.empty { color: var(--muted); }
`;

/** The columns every kind has, after its own (see KindBoard). */
const COUNTS = [
  { field: 'admittedPerSecond', heading: 'Admitted/s' },
  { field: 'refusedPerSecond', heading: 'Refused/s' },
  { field: 'admitted', heading: 'Admitted' },
  { field: 'refused', heading: 'Refused' },
  { field: 'keys', heading: 'Keys' },
  { field: 'lastSeen', heading: 'Last call' },
];

/** Each kind's columns: the name, its own, then the counts. */
const columnsOf = (columns: ReadonlyArray<{ field: string; heading: string }>) => [
  { field: 'name', heading: 'Name' },
  ...columns,
  ...COUNTS,
];

const COLUMNS = JSON.stringify(
  Object.fromEntries(LIMIT_KINDS.map((k) => [k.kind, columnsOf(k.board.columns).map((c) => c.field)])),
);

/** Each kind's renderers of its own columns, as its descriptor writes them. */
const CELLS = `{ ${LIMIT_KINDS.map((k) => `${JSON.stringify(k.kind)}: ${k.board.cells}`).join(',\n')} }`;

const SCRIPT = `
(function () {
  'use strict';
  var dataUrl = location.pathname.replace(/\\/+$/, '') + '/data' + location.search;
  var statusEl = document.getElementById('status');
  var COLUMNS = ${COLUMNS};
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function ms(v) { return v >= 1000 ? (v / 1000).toFixed(1) + ' s' : Math.round(v) + ' ms'; }
  function ago(v) { return v === undefined ? 'never' : v < 1000 ? 'now' : ms(v) + ' ago'; }
  function fraction(td, now, of) {
    td.appendChild(el('span', now + ' / ' + of, 'value'));
    var m = el('meter'); m.min = 0; m.max = of; m.value = now; td.appendChild(m);
  }
  function noState(td, row) { td.appendChild(el('span', row.stateNote || '\\u2014', 'value note')); }
  var CELLS = ${CELLS};
  function cell(row, field) {
    var td = el('td');
    td.setAttribute('data-field', field);
    var s = row.state;
    var own = (CELLS[row.kind] || {})[field];
    if (own) { own(td, row, s); return td; }
    switch (field) {
      case 'name':
        td.appendChild(el('span', row.name, 'value'));
        td.appendChild(el('span', row.registered ? 'registered' : 'inline', 'tag'));
        if (row.shadow) td.appendChild(el('span', 'shadow', 'tag shadow'));
        break;
      case 'refusedPerSecond': case 'refused':
        td.appendChild(el('span', row[field], row[field] > 0 ? 'value refused' : 'value')); td.className = 'num'; break;
      case 'keys': td.appendChild(el('span', row.keys === 0 ? '\\u2014' : row.keys, 'value')); td.className = 'num'; break;
      case 'lastSeen': td.appendChild(el('span', ago(row.lastSeenMs), 'value')); break;
      default: td.appendChild(el('span', row[field], 'value')); td.className = 'num';
    }
    return td;
  }
  function render(data) {
    Object.keys(COLUMNS).forEach(function (kind) {
      var body = document.getElementById(kind + '-rows');
      var rows = data.rows.filter(function (r) { return r.kind === kind; });
      var trs = rows.map(function (row) {
        var tr = el('tr');
        tr.setAttribute('data-kind', row.kind);
        tr.setAttribute('data-name', row.name);
        COLUMNS[kind].forEach(function (field) { tr.appendChild(cell(row, field)); });
        return tr;
      });
      if (trs.length === 0) {
        var tr = el('tr'); var td = el('td', 'none registered or active', 'empty'); td.colSpan = COLUMNS[kind].length; tr.appendChild(td); trs.push(tr);
      }
      body.replaceChildren.apply(body, trs);
    });
    statusEl.className = '';
    statusEl.textContent = 'Updated ' + new Date(data.generatedAt).toLocaleTimeString() + ' \\u00b7 rates over the last ' + ms(data.rateWindowMs) +
      ' in this process \\u00b7 limits without a registration shown while active in the last ' + ms(data.recentMs);
  }
  var refreshMs = 1000;
  function tick() {
    fetch(dataUrl, { cache: 'no-store', credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (data) { refreshMs = data.refreshMs; render(data); },
            function (e) { statusEl.className = 'error'; statusEl.textContent = 'Could not load the data: ' + e.message; })
      .then(function () { setTimeout(tick, refreshMs); });
  }
  tick();
})();
`;

function table(kind: string, title: string, columns: ReadonlyArray<{ field: string; heading: string }>): string {
  const head = columnsOf(columns)
    .map((c) => `<th>${c.heading}</th>`)
    .join('');
  return `<h2>${title}</h2>\n<table><thead><tr>${head}</tr></thead><tbody id="${kind}-rows"></tbody></table>`;
}

export const BOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Limiters</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Limiters</h1>
<div id="status">Loading…</div>
${LIMIT_KINDS.map((k) => table(k.kind, k.board.title, k.board.columns)).join('\n')}
<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Only the page's own style and script, and requests to its own origin. */
export const BOARD_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
