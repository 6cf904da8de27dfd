import {
  Controller,
  Get,
  Param,
  ParseIntPipe,
  Query,
  UnauthorizedException,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import type { Request } from 'express';
import { TokenBucket, TokenBucketGuard } from '../../../lib';
import { PER_KEY } from '../sample-limits';
import { StampAdmission } from './admissions';
import { SlowApiService, type Quote } from './slow-api.service';

/** Each API key gets its own bucket, named `per-key:<key>`; answers name the policy, never the key. */
function apiKeyOf(req: Request): string {
  const key = req.headers['x-api-key'];
  if (typeof key !== 'string' || key === '')
    throw new UnauthorizedException('Send your API key in the x-api-key header.');
  return key;
}

@Controller('api')
@UseInterceptors(StampAdmission)
export class QuotesController {
  constructor(private readonly slowApi: SlowApiService) {}

  /** Limited by the interceptor @TokenBucket puts on the controller: 429 with Retry-After once the key's bucket is empty. */
  @Get('quote/:symbol')
  @TokenBucket(PER_KEY.name, { key: apiKeyOf })
  quote(@Param('symbol') symbol: string): Promise<Quote> {
    return this.slowApi.quote(symbol);
  }

  /** The same per-key bucket, taken by the guard: a refused request never reaches the pipes. */
  @Get('history/:symbol')
  @UseGuards(TokenBucketGuard)
  @TokenBucket(PER_KEY.name, { key: apiKeyOf })
  history(@Param('symbol') symbol: string, @Query('days', ParseIntPipe) days: number): Promise<Quote[]> {
    return this.slowApi.history(symbol, Math.min(Math.max(days, 1), 30));
  }
}
