import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { BOARD_OPTIONS, type ResolvedBoardOptions } from './board-options.interface';

/** Lets a request see the board only when `authorize` says so; without `authorize`, nobody (403). */
@Injectable()
export class BoardAuthorizeGuard implements CanActivate {
  constructor(@Inject(BOARD_OPTIONS) private readonly options: ResolvedBoardOptions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { authorize } = this.options;
    if (!authorize) return false;
    try {
      return (await authorize(context.switchToHttp().getRequest())) === true;
    } catch {
      return false;
    }
  }
}
