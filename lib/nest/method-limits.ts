import { SEMAPHORE_LIMIT, TOKEN_BUCKET_LIMIT } from './limits.constants';
import type { SemaphoreDeclaration, TokenBucketDeclaration } from './decorators/limit-options.interface';

/** The limits declared on one method, and whose method it is (names inline limiters). */
export interface MethodLimits {
  /** `ClassName.methodName`: the default name of inline limiters. */
  owner: string;
  /** In the order they are written (top first), which is the order their tokens are taken. */
  tokenBuckets: TokenBucketDeclaration[];
  semaphore?: SemaphoreDeclaration;
}

/** Reads what @Semaphore / @TokenBucket recorded on a method; undefined when neither is there. */
export function readMethodLimits(method: Function, className: string, methodName: string): MethodLimits | undefined {
  const tokenBuckets: TokenBucketDeclaration[] = Reflect.getMetadata(TOKEN_BUCKET_LIMIT, method) ?? [];
  const semaphore: SemaphoreDeclaration | undefined = Reflect.getMetadata(SEMAPHORE_LIMIT, method);
  if (tokenBuckets.length === 0 && !semaphore) return undefined;
  return { owner: `${className}.${methodName}`, tokenBuckets, semaphore };
}
