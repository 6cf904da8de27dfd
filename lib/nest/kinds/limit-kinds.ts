import { LimiterError } from '../../core/errors';
import { kindWithoutDescriptor } from '../limiters.messages';
import type { LimitKind } from '../../core/limit-kind';
import { fixedWindowKind } from './fixed-window.kind';
import type { LimitKindDescriptor } from './limit-kind.descriptor';
import { semaphoreKind } from './semaphore.kind';
import { slidingWindowKind } from './sliding-window.kind';
import { tokenBucketKind } from './token-bucket.kind';

/**
 * Every kind of limit the Nest layer offers, one descriptor each (as @nestjs/terminus lists
 * its health indicators): adding a kind is its descriptor file and a line here. The order
 * is the order they are listed in (module options, the board); the order a call enters
 * them is their phase's.
 */
export const LIMIT_KINDS = [semaphoreKind, tokenBucketKind, fixedWindowKind, slidingWindowKind] as const;

/** Any of them, with the literal types of its words. */
export type AnyKind = (typeof LIMIT_KINDS)[number];

/** Compiles only for `never`. */
type OnlyNever<T extends never> = T;

/**
 * The kinds of core/limit-kind.ts that LIMIT_KINDS lacks. tsc fails here, naming the kind,
 * while any is left out: kindOf() would otherwise only fail at run time, at the first
 * declaration of one.
 */
export type UndescribedKind = OnlyNever<Exclude<LimitKind, AnyKind['kind']>>;

const byKind = new Map<LimitKind, LimitKindDescriptor>(LIMIT_KINDS.map((d) => [d.kind, d]));

/** The descriptor of `kind`. */
export function kindOf(kind: LimitKind): LimitKindDescriptor {
  const found = byKind.get(kind);
  // Only a kind core knows and this layer does not: a library bug, not a user's mistake.
  if (!found) throw new LimiterError(kindWithoutDescriptor(kind));
  return found;
}

/** The descriptor of `kind`, or undefined for a string that names none (a token, a metadata value). */
export function findKind(kind: unknown): LimitKindDescriptor | undefined {
  return byKind.get(kind as LimitKind);
}
