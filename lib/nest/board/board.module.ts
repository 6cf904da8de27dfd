import { Module, type DynamicModule } from '@nestjs/common';
import { InvalidOptionError } from '../../core/errors';
import {
  BOARD_AUTHORIZE_REQUIREMENT,
  BOARD_PATH_REQUIREMENT,
  BOARD_RECENT_REQUIREMENT,
  BOARD_REFRESH_REQUIREMENT,
} from '../limiters.messages';
import { BoardActivity } from './board-activity';
import { BoardDataSource } from './board-data';
import {
  BOARD_DEFAULTS,
  BOARD_OPTIONS,
  type LimitersBoardOptions,
  type ResolvedBoardOptions,
} from './board-options.interface';
import { BoardState } from './board-state';
import { boardController } from './board.controller';
import { BoardAuthorizeGuard } from './board.guard';

/**
 * A live page of the app's limiters: `LimitersBoardModule.forRoot({ path, authorize })`
 * next to `LimitersModule.forRoot(...)`. It listens to the limiters' events only while
 * the app runs, and reads their state from Redis at most once per refreshMs.
 */
@Module({})
export class LimitersBoardModule {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as LimitersBoardOptions
  static forRoot<Req = any>(options: LimitersBoardOptions<Req> = {}): DynamicModule {
    const resolved = resolveBoardOptions(options as LimitersBoardOptions);
    return {
      module: LimitersBoardModule,
      controllers: [boardController(resolved.path)],
      providers: [
        { provide: BOARD_OPTIONS, useValue: resolved },
        BoardActivity,
        BoardState,
        BoardDataSource,
        BoardAuthorizeGuard,
      ],
    };
  }
}

function resolveBoardOptions(options: LimitersBoardOptions): ResolvedBoardOptions {
  const {
    path = BOARD_DEFAULTS.path,
    authorize,
    recentMs = BOARD_DEFAULTS.recentMs,
    refreshMs = BOARD_DEFAULTS.refreshMs,
  } = options;
  if (typeof path !== 'string') throw new InvalidOptionError('path', undefined, BOARD_PATH_REQUIREMENT, path);
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new InvalidOptionError('authorize', undefined, BOARD_AUTHORIZE_REQUIREMENT, authorize);
  }
  if (typeof recentMs !== 'number' || !(recentMs >= 1_000))
    throw new InvalidOptionError('recentMs', undefined, BOARD_RECENT_REQUIREMENT, recentMs);
  if (typeof refreshMs !== 'number' || !(refreshMs >= 250))
    throw new InvalidOptionError('refreshMs', undefined, BOARD_REFRESH_REQUIREMENT, refreshMs);
  return { path: path.replace(/^\/+|\/+$/g, ''), authorize, recentMs, refreshMs };
}
