import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LimitersModule } from '../../lib';
import { sampleBoard } from './board';
import { RefusalLog } from './events/refusal-log';
import { HealthController } from './health/health.controller';
import { Admissions } from './quotes/admissions';
import { QuotesController } from './quotes/quotes.controller';
import { SlowApiService } from './quotes/slow-api.service';
import { UpstreamMeter } from './quotes/upstream-meter';
import { MetricsController, SAMPLE_TELEMETRY, SampleTelemetry } from './metrics/metrics.controller';
import { PER_KEY, SLOW_API } from './sample-limits';
import { STORE_CHOICE, StatsController } from './stats/stats.controller';
import type { StoreChoice } from './store/choose-store';

@Module({})
export class AppModule {
  static register(store: StoreChoice): DynamicModule {
    const { name: slowApi, capacity, maxSleep } = SLOW_API;
    const { name: perKey, ...bucket } = PER_KEY;
    const telemetry = new SampleTelemetry();
    return {
      module: AppModule,
      imports: [
        LimitersModule.forRoot({
          ...store.options,
          keyPrefix: 'sample',
          semaphores: { [slowApi]: { capacity, maxSleep } },
          tokenBuckets: { [perKey]: bucket },
          metrics: { meterProvider: telemetry.meterProvider },
        }),
        sampleBoard(),
        TerminusModule,
      ],
      controllers: [QuotesController, StatsController, MetricsController, HealthController],
      providers: [
        SlowApiService,
        UpstreamMeter,
        Admissions,
        RefusalLog,
        { provide: STORE_CHOICE, useValue: store },
        { provide: SAMPLE_TELEMETRY, useValue: telemetry },
      ],
    };
  }
}
