import { Redis } from 'ioredis';

/**
 * Counts the commands every ioredis connection of this process sends (the library's, the
 * peers', subscribers'), by wrapping Redis.prototype.sendCommand. Bench instrumentation only.
 */
export function countSentCommands(): { readonly sent: number } {
  const proto = Redis.prototype as unknown as { sendCommand: (...args: unknown[]) => unknown };
  const original = proto.sendCommand;
  const counter = { sent: 0 };
  proto.sendCommand = function (this: unknown, ...args: unknown[]) {
    counter.sent++;
    return original.apply(this, args);
  };
  return counter;
}
