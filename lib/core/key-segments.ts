import { createHash, createHmac } from 'node:crypto';

/**
 * The parts of a limiter's identity that leave the process, made safe for any key: a
 * limiter's name, and the id that stands for a caller's key. Worked out in core, where a
 * limiter is made, so the key itself is never kept and every store names it the same way.
 */

// Beyond this length a name is hashed, so keys stay short whatever the user passes.
const MAX_ENCODED_LENGTH = 64;

// Half of a UTF-16 surrogate pair on its own. It has no UTF-8 form: Buffer writes U+FFFD
// for it, so "\ud800", "\udc00" and "\ufffd" would share one limiter.
const LONE_SURROGATE = /\p{Cs}/u;

// Names made only of these characters, and not too long, go into keys as they are, so an
// operator reading Redis sees {=per-key:alice} and not {cGVyLWtleTphbGljZQ}. None of them
// is a brace (which would end the hash tag), a glob character, "=" or "/".
const READABLE_NAME = /^[A-Za-z0-9_.:@-]{1,64}$/;

/**
 * The key of a keyed limit when none is configured. Built in and stable, so every
 * instance of a deployment computes the same key names without configuration. Being
 * public, it hides a key only from whoever cannot guess it: set `keySecret` when keys
 * are guessable (user ids, e-mail addresses).
 */
export const DEFAULT_KEY_SECRET = 'nestjs-limiters/caller-key/v1';

/** Caller keys up to this many UTF-16 code units are used as they are; longer ones are digested. */
const MAX_KEY_LENGTH = 64;

// Digested keys start with NUL, which no HTTP header value may hold, so a key a client
// sends can never take the form of another key's digest.
const DIGEST_MARK = '\u0000sha256:';

/**
 * Turns any user-given name into a key segment that holds no "{", "}" or "/", so it can
 * be (the first part of) a Cluster hash tag, and keeps distinct names distinct:
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
 * A caller's key in at most 64 code units, standing for the same limit: short keys as
 * they are, longer ones as a digest. Request data can be many kilobytes a key; whatever
 * keeps keys (the caches of the Nest layer) keeps this instead, so a client sending long
 * distinct keys costs no more memory than one sending short ones. Idempotent: a digest is
 * short, so compacting it again keeps it.
 */
export function compactKey(key: string): string {
  if (key.length <= MAX_KEY_LENGTH) return key;
  // UTF-16 code units: every string has them, lone surrogates included, and distinct
  // strings have distinct ones.
  return DIGEST_MARK + createHash('sha256').update(key, 'utf16le').digest('base64url');
}

/**
 * What stands for a caller's key outside this process (key names): by default
 * "k." and its HMAC-SHA-256 under `secret`, truncated to 128 bits, which tells keys
 * apart without revealing them (base64url or hex would be read back at once). With
 * `readable`, the key as encodeName writes it, for debugging. Neither form holds "/",
 * and "k." starts no encodeName output, so the two forms never meet.
 */
export function keyIdOf(key: string, secret: string, readable: boolean): string {
  const compact = compactKey(key);
  if (readable) return encodeName(compact);
  return 'k.' + createHmac('sha256', secret).update(compact, 'utf16le').digest().subarray(0, 16).toString('base64url');
}
