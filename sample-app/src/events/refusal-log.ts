import diagnosticsChannel from 'node:diagnostics_channel';
import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CHANNEL_NAMES, type RefuseEvent } from '../../../lib';

/**
 * Counts refusals per limit from the library's own events, as an app would to alert on
 * them: the `nestjs-limiters:refuse` channel, subscribed while the app runs. /stats shows
 * the counts beside what the app measured itself.
 */
@Injectable()
export class RefusalLog implements OnModuleInit, OnModuleDestroy {
  private readonly counts = new Map<string, number>();

  private readonly onRefuse = (message: unknown) => {
    const { name } = message as RefuseEvent;
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  };

  onModuleInit(): void {
    diagnosticsChannel.subscribe(CHANNEL_NAMES.refuse, this.onRefuse);
  }

  onModuleDestroy(): void {
    diagnosticsChannel.unsubscribe(CHANNEL_NAMES.refuse, this.onRefuse);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts.clear();
  }
}
