import { Inject, Injectable } from '@nestjs/common';
import type { Limiter, LimitKindDescriptor } from '../kinds/limit-kind.descriptor';
import { LIMIT_KINDS } from '../kinds/limit-kinds';
import { LIMITERS_REGISTRY } from '../limiter.providers';
import { BOARD_STATE_TIMED_OUT, BOARD_STATE_UNAVAILABLE } from '../limiters.messages';
import type { LimitersService } from '../limiters.service';
import { BOARD_OPTIONS, type ResolvedBoardOptions } from './board-options.interface';

/** Longest a data request waits for Redis: a board must answer, if only with "unavailable", when Redis is down. */
const STATE_WAIT_MS = 1_000;

export interface RegisteredLimiter {
  type: LimitKindDescriptor;
  limiter: Limiter;
}

export type LimiterState = { ok: true; snapshot: unknown; readAt: number } | { ok: false; error: string };

/**
 * The state of every registered limiter, read from Redis at most once per refreshMs however
 * many boards ask, each read bounded in time. A limiter whose previous read has not settled
 * (Redis down: commands wait for their commandTimeout) is not read again until it has, so a
 * dead Redis never piles up reads.
 */
@Injectable()
export class BoardState {
  private readonly states = new Map<string, LimiterState>();
  private readonly pending = new Set<string>();
  private lastRead = 0;
  private reading?: Promise<void>;

  constructor(
    @Inject(LIMITERS_REGISTRY) private readonly registry: LimitersService,
    @Inject(BOARD_OPTIONS) private readonly options: ResolvedBoardOptions,
  ) {}

  /** Every registered limiter, kind by kind. */
  registered(): RegisteredLimiter[] {
    return LIMIT_KINDS.flatMap((type) =>
      [...this.registry.all(type.kind).values()].map((limiter) => ({ type, limiter })),
    );
  }

  /** The latest states by `${kind} ${name}`, refreshed first when older than refreshMs. */
  async read(): Promise<Map<string, LimiterState>> {
    if (!this.reading && Date.now() - this.lastRead >= this.options.refreshMs) {
      this.lastRead = Date.now();
      this.reading = this.readAll().finally(() => (this.reading = undefined));
    }
    if (this.reading) await this.reading;
    return this.states;
  }

  private async readAll(): Promise<void> {
    await Promise.all(this.registered().map((r) => this.readOne(`${r.type.kind} ${r.limiter.name}`, r)));
  }

  private async readOne(id: string, { limiter }: RegisteredLimiter): Promise<void> {
    if (this.pending.has(id)) {
      this.states.set(id, { ok: false, error: BOARD_STATE_TIMED_OUT });
      return;
    }
    this.pending.add(id);
    const read = limiter.state().then(
      (snapshot): LimiterState => ({ ok: true, snapshot, readAt: Date.now() }),
      (): LimiterState => ({ ok: false, error: BOARD_STATE_UNAVAILABLE }),
    );
    void read.finally(() => this.pending.delete(id));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<LimiterState>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: BOARD_STATE_TIMED_OUT }), STATE_WAIT_MS);
    });
    const state = await Promise.race([read, timedOut]);
    clearTimeout(timer);
    this.states.set(id, state);
    // A read that finishes after its wait still brings the freshest state for the next answer.
    if (!state.ok) void read.then((late) => late.ok && this.states.set(id, late));
  }
}
