import { HttpException } from '@nestjs/common';
import { MaxSleepExceededError } from '../../lib/core/errors';
import { toHttpException } from '../../lib/nest/http/limit-exceptions';
import { HTTP_DEFAULTS } from '../../lib/nest/resolve-module-options';

describe('toHttpException', () => {
  const refusal = () => new MaxSleepExceededError('search', 0, 250);

  it('answers without stack frames of its own, keeping the cause with its stack', () => {
    const cause = refusal();
    const answer = toHttpException(cause, 'tokenBucket', 'search', HTTP_DEFAULTS) as HttpException;
    expect(answer.getStatus()).toBe(429);
    expect(answer.stack).not.toMatch(/\n\s+at /);
    expect(answer.cause).toBe(cause);
    expect(cause.stack).toMatch(/\n\s+at /);
  });

  it('leaves stack traces of every other error as they were', () => {
    const before = Error.stackTraceLimit;
    toHttpException(refusal(), 'semaphore', 'search', HTTP_DEFAULTS);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('later').stack).toMatch(/\n\s+at /);
  });
});
