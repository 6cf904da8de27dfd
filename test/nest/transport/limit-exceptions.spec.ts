import { HttpException } from '@nestjs/common';
import { MaxSleepExceededError } from '../../../lib/core/errors';
import { limiterErrorAnswer } from '../../../lib/nest/transport/outcome-mapping';
import { HTTP_DEFAULTS } from '../../../lib/nest/resolve-module-options';

describe('the HTTP answer to a refusal', () => {
  const http = { transport: 'http' as const, request: {} };
  const refusal = () => new MaxSleepExceededError('search', 0, 250);

  it('answers without stack frames of its own, keeping the cause with its stack', () => {
    const cause = refusal();
    const answer = limiterErrorAnswer(http, cause, HTTP_DEFAULTS) as HttpException;
    expect(answer.getStatus()).toBe(429);
    expect(answer.stack).not.toMatch(/\n\s+at /);
    expect(answer.cause).toBe(cause);
    expect(cause.stack).toMatch(/\n\s+at /);
  });

  it('leaves stack traces of every other error as they were', () => {
    const before = Error.stackTraceLimit;
    limiterErrorAnswer(http, refusal(), HTTP_DEFAULTS);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('later').stack).toMatch(/\n\s+at /);
  });
});
