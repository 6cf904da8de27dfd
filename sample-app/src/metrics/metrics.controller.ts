import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Req, Res, type OnApplicationShutdown } from '@nestjs/common';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/** The app's OpenTelemetry meters, read by Prometheus on GET /metrics rather than pushed anywhere. */
export class SampleTelemetry {
  /** No server of its own: the app's route answers the scrape. */
  readonly exporter = new PrometheusExporter({ preventServerStart: true });
  readonly meterProvider = new MeterProvider({ readers: [this.exporter] });
}

export const SAMPLE_TELEMETRY = Symbol('SampleTelemetry');

/** GET /metrics: the limiters' metrics (limiters_requests_total...) in Prometheus' text format. */
@Controller('metrics')
export class MetricsController implements OnApplicationShutdown {
  constructor(@Inject(SAMPLE_TELEMETRY) private readonly telemetry: SampleTelemetry) {}

  @Get()
  scrape(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    this.telemetry.exporter.getMetricsRequestHandler(request, response);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.telemetry.meterProvider.shutdown();
  }
}
