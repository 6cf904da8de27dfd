import type {
  SlidingWindowBackend,
  SlidingWindowShape,
  SlidingWindowSnapshot,
  TakeReply,
} from '../../core/limiter-store';
import { blockKey } from './keys';
import { numbers, type ScriptRunner } from './script-runner';

/**
 * A sliding window stored in one Redis key (lua/sliding-window-*.lua), and while a refusal
 * blocks it (option blockDuration) a second key beside it.
 */
export function redisSlidingWindow(scripts: ScriptRunner, key: string): SlidingWindowBackend {
  const keys = [key, blockKey(key)];
  const shapeArgs = (s: SlidingWindowShape) => [s.limit, s.window, s.subWindow];
  return {
    take: (shape, tokens, maxWait) =>
      scripts.run(
        'slidingWindowTake',
        keys,
        [...shapeArgs(shape), tokens, maxWait === Infinity ? -1 : maxWait, shape.blockDuration],
        takeReply,
      ),
    inspect: (shape) => scripts.run('slidingWindowInspect', keys, shapeArgs(shape), snapshot),
    adjust: (shape, tokens, slot) =>
      scripts.run('slidingWindowAdjust', keys, [...shapeArgs(shape), tokens, slot ?? -1], snapshot),
  };
}

/** The reply of sliding-window-take: as token-bucket-take's, with the sub-window counted in (see the script's header). */
function takeReply(reply: unknown): TakeReply {
  // Number(): a client made with stringNumbers hands integers over as strings (see numbers()).
  const [tokens, wait, fullIn, slot] = numbers(reply);
  return wait < 0 ? { reserved: false, tokens, wait: -wait, fullIn } : { reserved: true, tokens, wait, fullIn, slot };
}

/** The reply of sliding-window-inspect and sliding-window-adjust: {tokens left now, ms until whole}. */
function snapshot(reply: unknown): SlidingWindowSnapshot {
  const [remaining, fullIn] = numbers(reply);
  return { remaining, fullIn };
}
