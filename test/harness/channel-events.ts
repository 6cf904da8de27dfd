import diagnosticsChannel from 'node:diagnostics_channel';
// From core rather than the package index, which loads lib/nest as well.
import { CHANNEL_NAMES, type BreakerEvents, type LimitEvents } from '../../lib/core/events';

type Events = LimitEvents & BreakerEvents;

/**
 * The `event`s this process publishes during each test of the enclosing describe: the
 * array is emptied before each test. Spec files run in processes of their own and their
 * tests one at a time, so nothing else's events get in.
 */
export function eventsOfEachTest<K extends keyof Events>(event: K): Array<Events[K]> {
  const seen: Array<Events[K]> = [];
  const listener = (message: unknown) => void seen.push(message as Events[K]);
  beforeEach(() => {
    seen.length = 0;
    diagnosticsChannel.subscribe(CHANNEL_NAMES[event], listener);
  });
  afterEach(() => diagnosticsChannel.unsubscribe(CHANNEL_NAMES[event], listener));
  return seen;
}
