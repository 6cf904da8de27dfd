/**
 * The sample's limits in one place: the app enforces them and GET /stats reports them,
 * so the load tool compares its measurements with what the app says, not with a copy.
 */

/** The simulated slow external API: at most `capacity` calls at once, each `callMs` long. */
export const SLOW_API = { name: 'slow-api', capacity: 5, callMs: 50, maxSleep: 10_000 } as const;

/**
 * Each API key (x-api-key header) may make 20 requests a second: one token every 50 ms,
 * after a first burst of up to `capacity`. Refused at once (maxSleep 0) with 429.
 */
export const PER_KEY = { name: 'per-key', capacity: 10, refillFrequency: 50, refillAmount: 1, maxSleep: 0 } as const;
