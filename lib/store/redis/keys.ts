import { createHash } from 'node:crypto';

// Beyond this length a name is hashed, so keys stay short whatever the user passes.
const MAX_ENCODED_LENGTH = 64;

// Half of a UTF-16 surrogate pair on its own. It has no UTF-8 form: Buffer writes U+FFFD
// for it, so "\ud800", "\udc00" and "\ufffd" would share one limiter.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Turns any user-given name into a key segment that cannot contain "{", "}" or ":".
 * base64url keeps distinct names distinct; hashed names carry a "." that base64url
 * never produces, so a hashed name can never equal an encoded one. Names with a lone
 * surrogate are hashed from their UTF-16 code units, under a prefix of their own.
 */
export function encodeName(name: string): string {
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
