import { Controller, Get, Header, Inject, UseGuards, type Type } from '@nestjs/common';
import { BoardDataSource, type BoardData } from './board-data';
import { BOARD_PAGE, BOARD_PAGE_CSP } from './board-page';
import { BoardAuthorizeGuard } from './board.guard';

/**
 * The board's routes under a path chosen in forRoot: a controller class is made per path,
 * since @Controller's path is fixed when the class is declared. Plain return values and
 * @Header work the same on Express and Fastify.
 */
export function boardController(path: string): Type {
  @Controller(path)
  @UseGuards(BoardAuthorizeGuard)
  class LimitersBoardController {
    constructor(@Inject(BoardDataSource) private readonly source: BoardDataSource) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Content-Security-Policy', BOARD_PAGE_CSP)
    @Header('Cache-Control', 'no-store')
    @Header('Referrer-Policy', 'no-referrer')
    @Header('X-Content-Type-Options', 'nosniff')
    page(): string {
      return BOARD_PAGE;
    }

    @Get('data')
    @Header('Cache-Control', 'no-store')
    @Header('X-Content-Type-Options', 'nosniff')
    data(): Promise<BoardData> {
      return this.source.data();
    }
  }
  return LimitersBoardController;
}
