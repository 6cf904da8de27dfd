import { LimitersBoardModule } from '../../lib';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The live board at /limiters. With BOARD_TOKEN set, only requests carrying it
 * (`/limiters?token=...`) may see it; without, only requests from this machine.
 */
export function sampleBoard() {
  const token = process.env.BOARD_TOKEN;
  return LimitersBoardModule.forRoot<{ query: { token?: string }; socket: { remoteAddress?: string } }>({
    path: 'limiters',
    authorize: (req) => (token ? req.query.token === token : LOOPBACK.has(req.socket.remoteAddress ?? '')),
  });
}
