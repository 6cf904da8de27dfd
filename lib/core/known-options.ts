import { InvalidOptionError } from './errors';
import type { LimitKind } from './limit-kind';

/** Options every limiter takes (see CommonLimiterOptions). */
const COMMON = [
  'name',
  'maxSleep',
  'keyPrefix',
  'commandTimeout',
  'key',
  'keySecret',
  'readableKeys',
  'mode',
  'breaker',
];

/** Every option a limiter of each kind takes: anything else is a mistake, not a default. */
export const LIMITER_OPTIONS: Record<LimitKind, readonly string[]> = {
  semaphore: [...COMMON, 'capacity', 'expiry'],
  'token-bucket': [...COMMON, 'capacity', 'refillFrequency', 'refillAmount', 'refusalCache', 'blockDuration'],
  'fixed-window': [...COMMON, 'limit', 'window', 'timezone', 'refusalCache', 'blockDuration'],
  'sliding-window': [...COMMON, 'limit', 'window', 'refusalCache', 'blockDuration'],
};

/**
 * Throws InvalidOptionError for the first key of `options` not in `known`, naming the
 * nearest known one: `refillAmmount` would otherwise be ignored and the default used.
 * `owner` is the limiter's name (undefined for module options, whose messages say so).
 */
export function checkKnownOptions(
  options: object,
  known: readonly string[],
  owner: string | undefined,
  where = '',
): void {
  for (const option of Object.keys(options)) {
    if (known.includes(option)) continue;
    const nearest = nearestName(option, known);
    const hint = nearest === undefined ? '' : ` (did you mean "${nearest}"?)`;
    throw new InvalidOptionError(
      option,
      owner,
      `${where}is not an option${hint}`,
      (options as Record<string, unknown>)[option],
    );
  }
}

/** The known name fewest edits away, if it is close enough to be a typo. */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
