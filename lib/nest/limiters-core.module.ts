import { Module } from '@nestjs/common';

/**
 * Holds the module options and the one LimitersService of the app. Always global, and
 * exports only LIMITERS_REGISTRY: LimitersModule decides (isGlobal) who sees the service.
 */
@Module({})
export class LimitersCoreModule {}
