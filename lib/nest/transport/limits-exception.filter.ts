import { Catch, Inject, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import { throwError } from 'rxjs';
import { MaxSleepExceededError, RedisUnavailableError } from '../../core/errors';
import type { ResolvedLimitersOptions } from '../limiters-options.interface';
import { LIMITERS_OPTIONS } from '../limiters-options.provider';
import { handlerCall } from './handler-limits';
import { limiterErrorAnswer } from './outcome-mapping';

/**
 * Installed by the module: a service method refused by its limit, called from any handler
 * (limited or not), answers as a refused handler does (429/503 with Retry-After, a GraphQL
 * error, a WsException or RpcException) instead of a 500. A filter of the app's own for
 * these errors, or for LimitExceededException, takes precedence where Nest puts it first;
 * `http.exceptionFactory` shapes the HTTP answer.
 */
@Catch(MaxSleepExceededError, RedisUnavailableError)
export class LimitsExceptionFilter extends BaseExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LIMITERS_OPTIONS) private readonly options: ResolvedLimitersOptions) {
    super();
  }

  catch(error: MaxSleepExceededError | RedisUnavailableError, host: ArgumentsHost): unknown {
    const call = handlerCall(host);
    const answer = limiterErrorAnswer(call, error, this.options.http);
    switch (call.transport) {
      case 'http':
        return super.catch(answer, host);
      case 'graphql':
        // A GraphQL filter's return value is the resolver's error.
        return answer;
      case 'rpc':
        // An RPC filter answers with an Observable that errors with the payload to send.
        return throwError(() => (answer as { getError?(): unknown }).getError?.() ?? answer);
      default: {
        // A gateway's client is told on 'exception', as Nest's own WS filter does.
        const client = host.switchToWs().getClient<{ emit?(event: string, data: unknown): unknown }>();
        client.emit?.(
          'exception',
          (answer as { getError?(): unknown }).getError?.() ?? { status: 'error', message: error.message },
        );
        return undefined;
      }
    }
  }
}
