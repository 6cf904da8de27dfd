import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';
import { ADMITTED_AT_HEADER } from './admitted-at';

/** Requests the per-key limit let through, by API key, for GET /stats. */
@Injectable()
export class Admissions {
  private byKey = new Map<string, number>();

  admit(apiKey: string): void {
    this.byKey.set(apiKey, (this.byKey.get(apiKey) ?? 0) + 1);
  }

  snapshot(): { total: number; byKey: Record<string, number> } {
    const byKey = Object.fromEntries(this.byKey);
    return { total: Object.values(byKey).reduce((a, b) => a + b, 0), byKey };
  }

  reset(): void {
    this.byKey = new Map();
  }
}

/**
 * Runs once a request got past the per-key limit (LimitsInterceptor, which @TokenBucket
 * puts first on the controller, and TokenBucketGuard run before it): counts the admission and
 * stamps its time on the answer, so a client can measure the admitted rate whatever time
 * the slow API adds before the answer leaves.
 */
@Injectable()
export class StampAdmission implements NestInterceptor {
  constructor(private readonly admissions: Admissions) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    this.admissions.admit(String(http.getRequest<Request>().headers['x-api-key']));
    http.getResponse<Response>().setHeader(ADMITTED_AT_HEADER, String(performance.timeOrigin + performance.now()));
    return next.handle();
  }
}
