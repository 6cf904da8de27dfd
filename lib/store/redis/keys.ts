import { createHash } from 'node:crypto';

// Beyond this length a name is hashed, so keys stay short whatever the user passes.
const MAX_ENCODED_LENGTH = 64;

// Half of a UTF-16 surrogate pair on its own. It has no UTF-8 form: Buffer writes U+FFFD
// for it, so "\ud800", "\udc00" and "\ufffd" would share one limiter.
const LONE_SURROGATE = /\p{Cs}/u;

// Names made only of these characters, and not too long, go into keys as they are, so an
// operator reading Redis sees {=per-key:alice} and not {cGVyLWtleTphbGljZQ}. None of them
// is a brace (which would end the hash tag), a glob character, or "=".
const READABLE_NAME = /^[A-Za-z0-9_.:@-]{1,64}$/;

/**
 * Turns any user-given name into a key segment that holds no "{" or "}", so it can be a
 * Cluster hash tag, and keeps distinct names distinct:
 * - readable names are kept, after a "=" (base64url never produces "=" and readable names
 *   hold none, so nothing else starts with one);
 * - other names are base64url-encoded;
 * - names whose encoding would pass 64 characters are hashed, behind "h." (base64url never
 *   produces "."); names with a lone surrogate are hashed from their UTF-16 code units,
 *   behind "u.".
 */
export function encodeName(name: string): string {
  if (READABLE_NAME.test(name)) return '=' + name;
  if (LONE_SURROGATE.test(name)) return 'u.' + createHash('sha256').update(name, 'utf16le').digest('base64url');
  const encoded = Buffer.from(name, 'utf8').toString('base64url');
  if (encoded.length <= MAX_ENCODED_LENGTH) return encoded;
  return 'h.' + createHash('sha256').update(name, 'utf8').digest('base64url');
}

/**
 * The common start of every key of one limiter. The braces make the encoded name the
 * Redis Cluster hash tag: one limiter's keys share a slot (so one script can touch
 * them all), while different limiters spread over the cluster.
 */
export function limiterKey(keyPrefix: string, kind: 'semaphore' | 'bucket', name: string): string {
  return `${keyPrefix}:${kind}:{${encodeName(name)}}`;
}
