/**
 * npm run load [-- --duration 10 --rate 120 --connections 128 --keys 3 --url http://127.0.0.1:3000 --json]
 *
 * Offers `rate` requests a second for `duration` seconds to a running sample app (at most
 * `connections` in flight, loopback only), spread round-robin over `keys` API keys and
 * over both limited routes, draws a live progress line, and prints what it measured
 * against what the app reports in GET /stats.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { summarize, type AppStats, type Sample, type Summary } from './figures';
import { ADMITTED_AT_HEADER } from '../src/quotes/admitted-at';
import { formatSummary, ProgressLine } from './report';

export interface LoadOptions {
  /** The app, e.g. http://127.0.0.1:3000; only loopback addresses are accepted. */
  url: string;
  durationMs: number;
  /** Requests offered a second, in total over every key. */
  rate: number;
  /** Most requests in flight at once; a request due while all are busy waits for one. */
  connections: number;
  keys: number;
}

const DEFAULTS: Omit<LoadOptions, 'url'> = { durationMs: 10_000, rate: 120, connections: 128, keys: 3 };
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const REQUEST_TIMEOUT_MS = 15_000;
const TICK_MS = 5;
const STATS_EVERY_MS = 250;
const WARM_UP_REQUESTS = 30;

export async function runLoad(options: LoadOptions, out: NodeJS.WriteStream = process.stdout): Promise<Summary> {
  const base = loopbackUrl(options.url);
  // Fresh keys each run, so every key starts with a full bucket even when the app (or
  // its Redis) still remembers a previous run.
  const run = randomBytes(2).toString('hex');
  const keys = NAMES.slice(0, options.keys).map((name) => `${name}-${run}`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const samples: Sample[] = [];
  const progress = new ProgressLine(out);
  let sent = 0;
  let inFlight = 0;
  let upstream: { inFlight: number; peak: number; capacity: number } | undefined;

  const warmedUp = await warmUp(agent, base, `warm-up-${run}`);
  await call(agent, new URL('/stats/reset', base), 'POST');
  const limits = (await getStats(agent, base)).limits;
  out.write(
    `Load: ${options.rate} requests/s for ${options.durationMs / 1_000} s over ${keys.length} API keys ` +
      `(${keys.join(', ')}), at most ${options.connections} in flight, against ${base.origin}\n` +
      `The app allows ${limits.perKey.ratePerSecond}/s per key (first burst ${limits.perKey.capacity}) and ` +
      `${limits.slowApi.capacity} slow-API calls at once (${limits.slowApi.callMs} ms each).\n`,
  );

  const total = Math.floor((options.rate * options.durationMs) / 1_000);
  const startedAt = performance.now();
  const fire = () => {
    const apiKey = keys[sent % keys.length];
    // One request in four goes to the guarded route; both share the key's bucket.
    const path = sent % 4 === 3 ? `/api/history/ACME?days=5` : `/api/quote/ACME`;
    sent += 1;
    inFlight += 1;
    const began = performance.now();
    void call(agent, new URL(path, base), 'GET', { 'x-api-key': apiKey }).then(({ status, admittedAt }) => {
      inFlight -= 1;
      samples.push({ apiKey, status, startedAt: began, endedAt: performance.now(), admittedAt });
    });
  };
  const draw = () => {
    const count = (test: (s: number) => boolean) => samples.filter((s) => test(s.status)).length;
    progress.update({
      elapsedMs: Math.min(performance.now() - startedAt, options.durationMs),
      durationMs: options.durationMs,
      sent,
      ok: count((s) => s >= 200 && s < 300),
      tooMany: count((s) => s === 429),
      other: count((s) => s !== 429 && (s < 200 || s >= 300)),
      inFlight,
      upstream,
    });
  };

  const poller = setInterval(() => {
    getStats(agent, base).then(
      (s) => (upstream = { inFlight: s.slowApi.inFlight, peak: s.slowApi.peak, capacity: s.limits.slowApi.capacity }),
      () => undefined,
    );
    draw();
  }, STATS_EVERY_MS);
  // Open loop: requests go out on schedule whatever the answers, as real clients would.
  await new Promise<void>((resolve) => {
    const ticker = setInterval(() => {
      const elapsed = performance.now() - startedAt;
      const due = Math.min(total, Math.floor((elapsed * options.rate) / 1_000));
      while (sent < due && inFlight < options.connections) fire();
      if (elapsed >= options.durationMs || sent === total) {
        clearInterval(ticker);
        resolve();
      }
    }, TICK_MS);
  });
  while (inFlight > 0) await new Promise((r) => setTimeout(r, TICK_MS));
  clearInterval(poller);
  draw();
  progress.end();

  const stats = await getStats(agent, base);
  const health = await call(agent, new URL('/health', base), 'GET');
  agent.destroy();
  return { ...summarize(samples, keys, stats, warmedUp), health: health.status };
}

function loopbackUrl(url: string): URL {
  const parsed = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    throw new Error(`The load tool only talks to loopback addresses; got ${parsed.hostname}.`);
  }
  return parsed;
}

/**
 * One request's status (0 when it failed without one) and, on an admitted request, when
 * the app admitted it (its x-admitted-at header). The body is read and dropped.
 */
function call(
  agent: Agent,
  url: URL,
  method: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; admittedAt?: number }> {
  return new Promise((resolve) => {
    const req = request(url, { agent, method, headers, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const stamp = res.headers[ADMITTED_AT_HEADER];
      const admittedAt = typeof stamp === 'string' ? Number(stamp) : undefined;
      res.resume();
      res.once('end', () => resolve({ status: res.statusCode ?? 0, admittedAt }));
      res.once('error', () => resolve({ status: 0 }));
    });
    req.once('timeout', () => req.destroy(new Error('timed out')));
    req.once('error', () => resolve({ status: 0 }));
    req.end();
  });
}

/**
 * A fresh app compiles its request paths on first use: a short unmeasured run on a key of
 * its own (admitted and refused answers, both routes) keeps that out of the figures.
 */
/** Its answers are counted apart: the app's metrics count them too. */
async function warmUp(agent: Agent, base: URL, apiKey: string): Promise<Summary['warmUp']> {
  const paths = Array.from({ length: WARM_UP_REQUESTS }, (_, i) =>
    i % 2 ? '/api/history/ACME?days=1' : '/api/quote/ACME',
  );
  const answers = await Promise.all(
    paths.map((path) => call(agent, new URL(path, base), 'GET', { 'x-api-key': apiKey })),
  );
  const statuses = answers.map((a) => a.status);
  return { ok: statuses.filter((s) => s >= 200 && s < 300).length, tooMany: statuses.filter((s) => s === 429).length };
}

async function getStats(agent: Agent, base: URL): Promise<AppStats> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = request(new URL('/stats', base), { agent, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.once('end', () =>
        res.statusCode === 200 ? resolve(text) : reject(new Error(`GET /stats answered ${res.statusCode}`)),
      );
    });
    req.once('timeout', () => req.destroy(new Error('GET /stats timed out')));
    req.once('error', reject);
    req.end();
  });
  return JSON.parse(body) as AppStats;
}

export function parseLoadArgs(argv: string[]): LoadOptions & { json: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? 3000}` },
      duration: { type: 'string', default: String(DEFAULTS.durationMs / 1_000) },
      rate: { type: 'string', default: String(DEFAULTS.rate) },
      connections: { type: 'string', default: String(DEFAULTS.connections) },
      keys: { type: 'string', default: String(DEFAULTS.keys) },
      json: { type: 'boolean', default: false },
    },
  });
  const number = (name: string, value: string, max: number) => {
    const n = Number(value);
    if (!(n > 0 && n <= max)) throw new Error(`--${name} must be a number above 0 and at most ${max}; got ${value}`);
    return n;
  };
  return {
    url: values.url!,
    // Bounded, so a typo cannot turn the demo into a long flood.
    durationMs: number('duration', values.duration!, 120) * 1_000,
    rate: number('rate', values.rate!, 2_000),
    connections: Math.floor(number('connections', values.connections!, 256)),
    keys: Math.floor(number('keys', values.keys!, NAMES.length)),
    json: values.json!,
  };
}

/** Prints the summary, and with --json the figures as the last line for scripts and tests. */
export function printSummary(summary: Summary, json: boolean, out: NodeJS.WriteStream = process.stdout): void {
  out.write(`${formatSummary(summary)}\n`);
  if (json) out.write(`${JSON.stringify(summary)}\n`);
}

if (require.main === module) {
  const { json, ...options } = parseLoadArgs(process.argv.slice(2));
  runLoad(options).then(
    (summary) => printSummary(summary, json),
    (error: unknown) => {
      console.error(`Load failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
