/**
 * The figures of a load run, computed from what the load tool saw (one sample per
 * response) and what the app measured (GET /stats), never from the configured numbers.
 */

/** One answered (or failed) request; times are ms on this process's performance clock. */
export interface Sample {
  apiKey: string;
  /** HTTP status; 0 when the request failed without one (connection error, timeout). */
  status: number;
  startedAt: number;
  endedAt: number;
  /** When the app admitted it (its x-admitted-at header, epoch ms on the app's clock); 2xx only. */
  admittedAt?: number;
}

/** The part of GET /stats the figures need. */
export interface AppStats {
  store: { kind: string; description: string };
  limits: {
    slowApi: { capacity: number; callMs: number };
    perKey: { capacity: number; refillFrequency: number; refillAmount: number; ratePerSecond: number };
  };
  slowApi: { inFlight: number; peak: number; calls: number; holders: number; waiters: number };
  admissions: { total: number; byKey: Record<string, number> };
  /** Refusals per limit, from the library's nestjs-limiters:refuse events. */
  refusedByEvents: Record<string, number>;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
}

export interface Summary {
  store: string;
  sent: number;
  /** From the first request sent to the last answer, seconds. */
  seconds: number;
  status: { ok: number; tooMany: number; other: number; failed: number };
  concurrency: { peak: number; capacity: number };
  rate: {
    /** Requests a second the keys were allowed together: per-key rate × keys. */
    configured: number;
    perKeyConfigured: number;
    /** The first `burst` admissions of a key come at once from its full bucket; the rate is what follows. */
    burst: number;
    admitted: number | undefined;
    byKey: Record<string, number | undefined>;
    /** Every 2xx over the whole run, burst included. */
    raw: number;
  };
  /** Admissions the app counted, to hold against `status.ok`. */
  appAdmissions: number;
  /** Refusals the app counted from the library's events, per limit, to hold against `status.tooMany`. */
  refusedByEvents: Record<string, number>;
  /** GET /health's status at the end (Terminus, with LimitersHealthIndicator); set by the load tool. */
  health?: number;
  latency: { ok: Percentiles | undefined; tooMany: Percentiles | undefined };
  /** Answers to the warm-up requests sent before the measured run (the app's metrics count them as well). */
  warmUp: { ok: number; tooMany: number };
}

export function summarize(
  samples: Sample[],
  keys: string[],
  stats: AppStats,
  warmUp: Summary['warmUp'] = { ok: 0, tooMany: 0 },
): Summary {
  const ok = samples.filter((s) => s.status >= 200 && s.status < 300);
  const tooMany = samples.filter((s) => s.status === 429);
  const failed = samples.filter((s) => s.status === 0).length;
  const first = Math.min(...samples.map((s) => s.startedAt));
  const last = Math.max(...samples.map((s) => s.endedAt));
  const seconds = samples.length === 0 ? 0 : (last - first) / 1_000;
  const { perKey, slowApi } = stats.limits;
  const byKey = Object.fromEntries(
    keys.map((key) => [
      key,
      steadyRate(
        ok.filter((s) => s.apiKey === key).map((s) => s.admittedAt ?? NaN),
        perKey.capacity,
      ),
    ]),
  );
  const rates = Object.values(byKey);
  return {
    store: stats.store.description,
    sent: samples.length,
    seconds,
    status: {
      ok: ok.length,
      tooMany: tooMany.length,
      other: samples.length - ok.length - tooMany.length - failed,
      failed,
    },
    concurrency: { peak: stats.slowApi.peak, capacity: slowApi.capacity },
    rate: {
      configured: perKey.ratePerSecond * keys.length,
      perKeyConfigured: perKey.ratePerSecond,
      burst: perKey.capacity,
      admitted: rates.every((r) => r !== undefined) ? rates.reduce((a, b) => a! + b!, 0) : undefined,
      byKey,
      raw: seconds === 0 ? 0 : ok.length / seconds,
    },
    appAdmissions: stats.admissions.total,
    refusedByEvents: stats.refusedByEvents,
    latency: { ok: percentiles(ok), tooMany: percentiles(tooMany) },
    warmUp,
  };
}

/**
 * A key's admissions a second once its first full bucket is spent: a saturated bucket
 * admits `burst` at once and then one refill's worth per period, so between its first
 * and last admission it admits burst + rate × span. Undefined when the run was too
 * short to get past the burst.
 *
 * Times are the admission stamps the app puts on 2xx answers: an answer also waits for
 * a slow-API slot, and a request waits for a busy app to read it, so the client's own
 * send or receive times would also measure those whenever they lag behind.
 */
function steadyRate(admittedAt: number[], burst: number): number | undefined {
  if (admittedAt.length <= burst + 1) return undefined;
  const span = (Math.max(...admittedAt) - Math.min(...admittedAt)) / 1_000;
  return (admittedAt.length - burst) / span;
}

/** Nearest-rank percentiles of response times, in ms. */
function percentiles(samples: Sample[]): Percentiles | undefined {
  if (samples.length === 0) return undefined;
  const sorted = samples.map((s) => s.endedAt - s.startedAt).sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  return { p50: at(50), p90: at(90), p99: at(99) };
}
