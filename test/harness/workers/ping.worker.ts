/** Proves a separate OS process can reach the harness Redis: PINGs the target and reports back. */
import { connectFromEnv, runWorker } from '../processes';
import type { TargetName } from '../redis-targets';

runWorker<{ target: TargetName }>(async ({ target }) => {
  const client = connectFromEnv(target);
  try {
    return { pid: process.pid, reply: await client.ping() };
  } finally {
    await client.quit();
  }
});
