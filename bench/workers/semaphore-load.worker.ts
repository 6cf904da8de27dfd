/**
 * Scenarios 2 and 3: `callers` concurrent loops in this process, each running jobs of
 * `holdMs` through one shared concurrency limit, from the common start time until
 * `durationMs` later (or `jobs` jobs per caller). Records when each job started and
 * ended (machine-wide monotonic clock) and when its caller began to wait.
 */
import { Redis } from 'ioredis';
import { runWorker } from '../../test/harness/processes';
import { hrnow, sleep } from '../support/clock';
import { semaphore, type SemaphoreContenderName } from '../support/contenders';
import { countSentCommands } from '../support/count-commands';
import { waitForStart } from '../support/gate';

interface Args {
  url: string;
  contender: SemaphoreContenderName;
  key: string;
  capacity: number;
  callers: number;
  holdMs: number;
  /** Adds 0..holdJitterMs at random to each hold, so that pollers cannot lock onto the holders' rhythm. */
  holdJitterMs?: number;
  /** Pause after each job before waiting again (hand-off scenario: the other process is then the only waiter). */
  pauseMs: number;
  durationMs?: number;
  jobsPerCaller?: number;
  gate: string;
}

runWorker<Args>(async (args) => {
  const commands = countSentCommands();
  const redis = new Redis(args.url);
  const limit = semaphore(args.contender, redis, args.url, { key: args.key, capacity: args.capacity });
  // One job before the start line, so connections, subscriptions and scripts are warm.
  await limit.run(() => undefined);
  const start = await waitForStart(redis, args.gate);
  const sentAtStart = commands.sent;
  const cpuAtStart = process.cpuUsage();
  const end = args.durationMs ? start + args.durationMs : Infinity;
  const jobs: Array<[waitFrom: number, started: number, ended: number]> = [];
  const caller = async () => {
    for (let n = 0; n < (args.jobsPerCaller ?? Infinity) && hrnow() < end; n++) {
      const waitFrom = hrnow();
      let started = 0;
      await limit.run(async () => {
        started = hrnow();
        await sleep(args.holdMs + Math.random() * (args.holdJitterMs ?? 0));
        jobs.push([waitFrom, started, hrnow()]);
      });
      if (args.pauseMs) await sleep(args.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: args.callers }, caller));
  const sent = commands.sent - sentAtStart;
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  await limit.close();
  redis.disconnect();
  return { jobs, sent, start, cpuMs };
});
