import { LimiterError } from '../../core/errors';
import type { Class, LimitRecord, Method } from '../decorators/limit-options.interface';
import { PHASES, type LimitKindDescriptor } from '../kinds/limit-kind.descriptor';
import { kindOf } from '../kinds/limit-kinds';
import { unknownSkippedLimit } from '../limiters.messages';
import { LIMITS_METADATA, SKIP_LIMITS_METADATA } from '../limits.constants';

/** One limit as it applies to one method: its record, its kind and the name it goes by. */
export interface DeclaredLimit extends LimitRecord {
  /** Its kind's descriptor (see kinds/). */
  type: LimitKindDescriptor;
  /**
   * The registered name, the inline name, or else `Class.method` (on a class: `Class`),
   * the class being the one the method is called on: a subclass's inherited handler has
   * a limit of its own.
   */
  name: string;
  /** Tells this limit of this method apart in the pipeline's caches. */
  id: string;
}

/** The limits of one method, in the order they are entered. */
export interface MethodLimits {
  /** `Class.method`. */
  owner: string;
  /** Phase by phase (rate kinds, then the slot); within a phase in the order written, class ones first. */
  limits: DeclaredLimit[];
  /** The same limits, one array per phase that has any, in that order. */
  phases: DeclaredLimit[][];
}

let methods = 0;

/**
 * What applies to `method` of `owner`: the class's limits, then the method's own, which add
 * to them. One exception: a method's limit of a 'slot' kind (@Semaphore) replaces the
 * class's of that kind, since a call holds one slot. To give a handler another rate than
 * its class, drop the class's limit by name with @SkipLimits('name') and declare the
 * handler's own under another name: one name is one limit in Redis, so it cannot have two
 * sets of options. @SkipLimits() with no names on the method or the class drops every
 * limit. Undefined when nothing applies.
 */
export function readMethodLimits(owner: Class, method: Method, methodName: string): MethodLimits | undefined {
  const own: LimitRecord[] = Reflect.getMetadata(LIMITS_METADATA, method) ?? [];
  const inherited: LimitRecord[] = Reflect.getMetadata(LIMITS_METADATA, owner) ?? [];
  if (own.length === 0 && inherited.length === 0) return undefined;
  const skipped = [skipsOf(method), skipsOf(owner)];
  if (skipped.includes(true)) return undefined;
  const skippedNames = new Set(skipped.flatMap((s) => (Array.isArray(s) ? s : [])));
  const methodOwner = `${owner.name}.${methodName}`;
  const id = String(methods++);
  const named = (record: LimitRecord, place: number): DeclaredLimit => ({
    ...record,
    type: kindOf(record.kind),
    name:
      record.registered ?? (record.inline?.name as string | undefined) ?? (record.onClass ? owner.name : methodOwner),
    id: `${id}.${place}`,
  });
  const declared = [...inherited, ...own].map(named);
  // A name that matches nothing is a typo that would leave the limit in force.
  const unknown = [...skippedNames].filter((n) => !declared.some((limit) => limit.name === n));
  if (unknown.length > 0)
    throw new LimiterError(
      unknownSkippedLimit(
        methodOwner,
        unknown,
        declared.map((l) => l.name),
      ),
    );
  // Told by its place among all declared (before any is skipped): the first ones are the class's.
  const replaced = (limit: DeclaredLimit, index: number) =>
    index < inherited.length && limit.type.phase === 'slot' && own.some((r) => r.kind === limit.kind);
  const applied = declared.filter((limit, index) => !skippedNames.has(limit.name) && !replaced(limit, index));
  if (applied.length === 0) return undefined;
  const phases = PHASES.map((phase) => applied.filter((l) => l.type.phase === phase)).filter((p) => p.length > 0);
  return { owner: methodOwner, limits: phases.flat(), phases };
}

function skipsOf(target: object): true | string[] | undefined {
  return Reflect.getMetadata(SKIP_LIMITS_METADATA, target);
}

const byClass = new WeakMap<Class, Map<Method, MethodLimits | null>>();

/**
 * readMethodLimits, read once per class and method: the pipeline's caches tell limits
 * apart by the objects this returns, and handlers look theirs up on every call.
 */
export function limitsOf(owner: Class, method: Method, methodName = method.name): MethodLimits | undefined {
  let methods = byClass.get(owner);
  if (!methods) byClass.set(owner, (methods = new Map()));
  let limits = methods.get(method);
  if (limits === undefined) methods.set(method, (limits = readMethodLimits(owner, method, methodName) ?? null));
  return limits ?? undefined;
}
