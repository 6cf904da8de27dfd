import type { LimitKind } from '../../core/limit-kind';
import { encodeName } from '../../core/key-segments';

export { encodeName };

/**
 * The common start of every key of one limiter. The braces make the encoded name, and
 * for a keyed limit the key's id after a "/", the Redis Cluster hash tag: one limiter's
 * keys share a slot (so one script can touch them all), while different limiters spread
 * over the cluster. No encoded name holds a "/", so no plain name, however crafted,
 * produces a keyed limit's tag, nor a keyed limit a plain name's.
 */
export function limiterKey(keyPrefix: string, kind: LimitKind, name: string, keyId?: string): string {
  const tag = keyId === undefined ? encodeName(name) : `${encodeName(name)}/${keyId}`;
  return `${keyPrefix}:${kind}:{${tag}}`;
}

/**
 * The key that blocks a limiter while a refusal's blockDuration lasts (lua/includes/block.lua):
 * its own key with a suffix, so in its hash tag.
 */
export function blockKey(limiterKey: string): string {
  return `${limiterKey}:blocked`;
}
