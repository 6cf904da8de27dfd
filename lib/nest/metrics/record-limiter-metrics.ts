import diagnosticsChannel from 'node:diagnostics_channel';
import type { Attributes, Meter, ObservableResult, UpDownCounter } from '@opentelemetry/api';
import { CHANNEL_NAMES, type LimitEvent, type LimitEvents } from '../../core/events';
import type { LimitKind } from '../../core/limit-kind';
import type { RateLimiter } from '../../core/rate-limiter';
import { findKind, LIMIT_KINDS } from '../kinds/limit-kinds';
import {
  DURATION_BUCKETS_S,
  METRIC_ATTRIBUTES as A,
  METRIC_NAMES,
  STATE_TIMEOUT_MS,
  type MetricReason,
  type MetricResult,
} from './metric-names';

export interface LimiterMetricsOptions {
  /**
   * Attributes added to every measurement made from an event, e.g. `{ tenant: ... }`.
   * The library never puts the caller's key (nor `keyId`, its hash) on a metric: every
   * distinct value is a new series to store, and keys are often secrets. Return the
   * same attributes for the same limit every time: the up-down counters are balanced per
   * attribute set.
   */
  attributes?: (event: LimitEvent, type: keyof LimitEvents) => Attributes;
  /** Token buckets (any rate limiter) whose tokens `limiters.tokens.remaining` reports; read on every collection. */
  tokenBuckets?: () => Iterable<RateLimiter>;
  /** Longest one collection waits for a bucket's state (ms); a bucket that does not answer is left out. Default 1000. */
  stateTimeoutMs?: number;
}

/** An up-down counter that remembers what it added per attribute set, so stopping can take it all back. */
class Balanced {
  private readonly net = new Map<string, { attributes: Attributes; value: number }>();

  constructor(private readonly counter: UpDownCounter) {}

  add(value: number, attributes: Attributes): void {
    const id = JSON.stringify(attributes);
    const entry = this.net.get(id) ?? { attributes, value: 0 };
    entry.value += value;
    if (entry.value === 0) this.net.delete(id);
    else this.net.set(id, entry);
    this.counter.add(value, attributes);
  }

  /** What this recorder added and will no longer see end (calls still waiting, permits still held). */
  undoAll(): void {
    for (const { attributes, value } of this.net.values()) this.counter.add(-value, attributes);
    this.net.clear();
  }
}

/** Per limit (name, kind and key hash): calls of this process in a state whose end is reported later. */
class PerLimit {
  private readonly counts = new Map<string, number>();

  increment(event: LimitEvent): void {
    const id = limitId(event);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** True when one was counted for this limit (and is now not). */
  take(event: LimitEvent): boolean {
    const id = limitId(event);
    const count = this.counts.get(id) ?? 0;
    if (count === 0) return false;
    if (count === 1) this.counts.delete(id);
    else this.counts.set(id, count - 1);
    return true;
  }
}

interface Sleeper {
  /** limitId of its call. */
  limit: string;
  /** performance.now() when its call started sleeping. */
  since: number;
  timer: NodeJS.Timeout;
  wake(): void;
}

function limitId(event: LimitEvent): string {
  return `${event.kind} ${event.name} ${event.keyId ?? ''}`;
}

/** The kinds whose calls wait in a queue (see KindMetrics.waits), and those whose admits start a lease. */
const QUEUED = kindsWhere((metrics) => metrics.waits === 'queue');
const LEASED = kindsWhere((metrics) => metrics.leases);

function kindsWhere(test: (metrics: (typeof LIMIT_KINDS)[number]['metrics']) => boolean): Set<LimitKind> {
  return new Set(LIMIT_KINDS.filter((type) => test(type.metrics)).map((type) => type.kind));
}

/**
 * Records the limiters' events (node:diagnostics_channel, see events.ts) as OpenTelemetry
 * metrics on `meter`, from every limiter of this process, with or without Nest. Returns a
 * function that unsubscribes and takes back what the up-down counters still count, so a
 * recorder started again on the same meter does not count twice.
 */
export function recordLimiterMetrics(meter: Meter, options: LimiterMetricsOptions = {}): () => void {
  const requests = meter.createCounter(METRIC_NAMES.requests, {
    description: 'Limited calls decided, by result: admitted, refused, or cancelled while queued.',
    unit: '{request}',
  });
  const waitDuration = meter.createHistogram(METRIC_NAMES.waitDuration, {
    description: 'Time a call waited: queued for a semaphore slot, or sleeping until its tokens exist.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });
  const leaseDuration = meter.createHistogram(METRIC_NAMES.leaseDuration, {
    description: 'Time a semaphore permit was held, from grant to release.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  });
  const leasesActive = new Balanced(
    meter.createUpDownCounter(METRIC_NAMES.leasesActive, {
      description: 'Semaphore permits held now.',
      unit: '{lease}',
    }),
  );
  const queueWaiting = new Balanced(
    meter.createUpDownCounter(METRIC_NAMES.queueWaiting, {
      description: 'Calls waiting now: queued for a semaphore slot, or sleeping for tokens.',
      unit: '{request}',
    }),
  );

  const extra = options.attributes;
  const base = (event: LimitEvent, type: keyof LimitEvents): Attributes => ({
    ...extra?.(event, type),
    [A.name]: event.name,
    [A.kind]: event.kind,
  });
  const count = (event: LimitEvent, type: keyof LimitEvents, result: MetricResult, reason?: MetricReason) =>
    requests.add(1, { ...base(event, type), [A.result]: result, ...(reason && { [A.reason]: reason }) });

  /** Queued calls (a semaphore's) of this process that published `wait` and whose admit, refusal or cancel is still to come. */
  const queued = new PerLimit();
  /** Permits whose lease was lost (already counted off) and whose release is still to come. */
  const lost = new PerLimit();
  /** Sleeping calls (a rate's) asleep for their tokens: no event marks their waking, a timer does (or their `cancel`). */
  const sleepers = new Set<Sleeper>();

  /**
   * Whether a queued kind's admit or refusal ends a call this process saw queue. Events carry
   * no call id: a call that never queued (tryAcquire, maxSleep 0) reports exactly 0 ms and
   * is told apart; one that asked with maxSleep and found a slot at once cannot be, but
   * slots go to the queue in order, so it may only end another call's wait early.
   */
  const endsWait = (event: LimitEvent & { waitedMs: number }) => event.waitedMs > 0 && queued.take(event);

  const handlers: { [K in keyof LimitEvents]: (event: LimitEvents[K]) => void } = {
    admit(event) {
      count(event, 'admit', 'admitted');
      if (QUEUED.has(event.kind) && endsWait(event)) {
        queueWaiting.add(-1, base(event, 'admit'));
        waitDuration.record(event.waitedMs / 1_000, { ...base(event, 'admit'), [A.result]: 'admitted' });
      }
      if (LEASED.has(event.kind)) leasesActive.add(event.permits ?? 1, base(event, 'admit'));
    },
    refuse(event) {
      // Shadow mode never refuses: the call ran, and the reason says it would not have.
      if (event.reason === 'redis-unavailable') count(event, 'refuse', 'refused', 'redis_unavailable');
      else if (event.shadow) count(event, 'refuse', 'admitted', 'shadow');
      else count(event, 'refuse', 'refused', 'limit');
      if (QUEUED.has(event.kind) && endsWait(event)) {
        queueWaiting.add(-1, base(event, 'refuse'));
        waitDuration.record(event.waitedMs / 1_000, { ...base(event, 'refuse'), [A.result]: 'refused' });
      }
    },
    wait(event) {
      // In shadow mode nobody waits: the wait a call would have had is not a wait.
      if (event.shadow) return;
      const attributes = base(event, 'wait');
      queueWaiting.add(1, attributes);
      if (QUEUED.has(event.kind)) {
        queued.increment(event);
        return;
      }
      // A sleeping call's wait is known exactly when it starts: the admit follows at once, the waking is not published.
      waitDuration.record(event.maxWaitMs / 1_000, { ...attributes, [A.result]: 'admitted' });
      const sleeper: Sleeper = {
        limit: limitId(event),
        since: performance.now(),
        wake: () => {
          clearTimeout(sleeper.timer);
          sleepers.delete(sleeper);
          queueWaiting.add(-1, attributes);
        },
        timer: setTimeout(() => sleeper.wake(), event.maxWaitMs),
      };
      sleeper.timer.unref();
      sleepers.add(sleeper);
    },
    cancel(event) {
      if (QUEUED.has(event.kind)) {
        // Its wait ends with neither an admit nor a refusal: without this the gauge only grows.
        count(event, 'cancel', 'cancelled');
        if (queued.take(event)) {
          queueWaiting.add(-1, base(event, 'cancel'));
          waitDuration.record(event.waitedMs / 1_000, { ...base(event, 'cancel'), [A.result]: 'cancelled' });
        }
        return;
      }
      // A sleeping call was counted admitted with its reservation; only its sleep ends early.
      // Events carry no call id: the sleeper of this limit that started nearest that call did.
      const startedAt = performance.now() - event.waitedMs;
      const limit = limitId(event);
      let nearest: Sleeper | undefined;
      for (const sleeper of sleepers) {
        if (sleeper.limit !== limit) continue;
        if (!nearest || Math.abs(sleeper.since - startedAt) < Math.abs(nearest.since - startedAt)) nearest = sleeper;
      }
      nearest?.wake();
    },
    release(event) {
      leaseDuration.record(event.heldMs / 1_000, base(event, 'release'));
      // A lost permit was counted off when it was lost; its release must not count it off again.
      if (!lost.take(event)) leasesActive.add(-(event.permits ?? 1), base(event, 'release'));
    },
    leaseLost(event) {
      lost.increment(event);
      leasesActive.add(-1, base(event, 'leaseLost'));
    },
    redisError(event) {
      // The refusal (or fallback) that follows is published by whoever decided it; a queued call ends here.
      if (QUEUED.has(event.kind) && queued.take(event)) queueWaiting.add(-1, base(event, 'redisError'));
    },
    fallback(event) {
      // A call limited locally is counted by the stand-in's own admit or refuse.
      if (event.policy === 'allow') count(event, 'fallback', 'admitted', 'redis_unavailable');
    },
  };

  const tokensRemaining = meter.createObservableGauge(METRIC_NAMES.tokensRemaining, {
    description: 'Tokens left in each registered rate limit, read from its store at collection.',
    unit: '{token}',
  });
  const stateTimeoutMs = options.stateTimeoutMs ?? STATE_TIMEOUT_MS;
  const observeTokens = async (result: ObservableResult) => {
    const limiters = [...(options.tokenBuckets?.() ?? [])];
    await Promise.all(
      limiters.map(async (limiter) => {
        const remaining = findKind(limiter.identity.kind)?.metrics.remaining?.(limiter);
        const tokens = remaining && (await within(stateTimeoutMs, remaining).catch(() => undefined));
        const attributes = { [A.name]: limiter.name, [A.kind]: limiter.identity.kind };
        if (tokens !== undefined) result.observe(Math.max(0, tokens), attributes);
      }),
    );
  };
  if (options.tokenBuckets) tokensRemaining.addCallback(observeTokens);

  const subscriptions = (Object.keys(handlers) as Array<keyof LimitEvents>).map((type) => {
    const listener = handlers[type] as (message: unknown) => void;
    diagnosticsChannel.subscribe(CHANNEL_NAMES[type], listener);
    return () => diagnosticsChannel.unsubscribe(CHANNEL_NAMES[type], listener);
  });

  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    for (const unsubscribe of subscriptions) unsubscribe();
    tokensRemaining.removeCallback(observeTokens);
    for (const sleeper of sleepers) clearTimeout(sleeper.timer);
    sleepers.clear();
    leasesActive.undoAll();
    queueWaiting.undoAll();
  };
}

/** The promise's value, or a rejection after `ms`: a store that does not answer must not hang a collection. */
function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
