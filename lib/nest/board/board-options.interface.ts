/** Options of `LimitersBoardModule.forRoot`. Every duration is in milliseconds. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped by default: authorize reads the app's own request
export interface LimitersBoardOptions<Req = any> {
  /** Where the page is served; its data is at `${path}/data`. Default `'limiters'` (under any global prefix). */
  path?: string;
  /**
   * Decides who may see the page and its data (the Express or Fastify request). Left out,
   * every request is refused with 403: a board is never public by accident. A throw counts as false.
   */
  authorize?: (request: Req) => boolean | Promise<boolean>;
  /** A limit not registered by name shows while events named it in the last `recentMs`. Default 5 minutes. */
  recentMs?: number;
  /**
   * How often the page asks for data, and the least time between two reads of the limiters'
   * state from Redis, however many boards are open. Default 1000, at least 250.
   */
  refreshMs?: number;
}

/** The options with their defaults applied. */
export interface ResolvedBoardOptions {
  path: string;
  authorize?: (request: unknown) => boolean | Promise<boolean>;
  recentMs: number;
  refreshMs: number;
}

export const BOARD_DEFAULTS = { path: 'limiters', recentMs: 5 * 60_000, refreshMs: 1_000 } as const;

export const BOARD_OPTIONS = 'LimitersBoardModule options';
