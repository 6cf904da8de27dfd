import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { LimitersHealthIndicator } from '../../../lib';

/** GET /health: 200 while the limiters' Redis answers (every master), 503 with the cause otherwise. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly limiters: LimitersHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.limiters.isHealthy('limiters', { timeout: 1_000 })]);
  }
}
