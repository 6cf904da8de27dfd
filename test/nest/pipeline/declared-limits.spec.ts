import { InvalidOptionError } from '../../../lib';
import { Semaphore } from '../../../lib/nest/decorators/semaphore.decorator';
import { SkipLimits } from '../../../lib/nest/decorators/skip-limits.decorator';
import { TokenBucket } from '../../../lib/nest/decorators/token-bucket.decorator';
import { readMethodLimits } from '../../../lib/nest/pipeline/declared-limits';

const rate = { capacity: 5, refillFrequency: 60_000 };

/** The names of the limits that apply to `method` of `owner`, in the order they are entered, phase by phase. */
function entered(owner: abstract new () => unknown, method: string): string[][] | undefined {
  const limits = readMethodLimits(owner, (owner.prototype as Record<string, () => void>)[method], method);
  return limits?.phases.map((phase) => phase.map((limit) => limit.name));
}

describe('the limits that apply to a method', () => {
  it('are entered rates first, class ones before the method own in the order written, then the slot', () => {
    @TokenBucket({ name: 'class-rate', ...rate })
    class Reports {
      @Semaphore({ name: 'slot', capacity: 2 })
      @TokenBucket({ name: 'first', ...rate })
      @TokenBucket({ name: 'second', ...rate })
      render(): void {}
    }
    expect(entered(Reports, 'render')).toEqual([['class-rate', 'first', 'second'], ['slot']]);
  });

  it("take a method's semaphore instead of its class's, also when a class limit is skipped by name", () => {
    @TokenBucket({ name: 'class-rate', ...rate })
    @Semaphore({ name: 'class-slot', capacity: 4 })
    class Exports {
      @Semaphore({ name: 'own-slot', capacity: 1 })
      heavy(): void {}

      @SkipLimits('class-rate')
      @Semaphore({ name: 'own-slot-unrated', capacity: 1 })
      unrated(): void {}

      light(): void {}
    }
    expect(entered(Exports, 'heavy')).toEqual([['class-rate'], ['own-slot']]);
    expect(entered(Exports, 'unrated')).toEqual([['own-slot-unrated']]);
    expect(entered(Exports, 'light')).toEqual([['class-rate'], ['class-slot']]);
  });

  it("refuse a call option of another kind: a semaphore's call takes permits, not tokens", () => {
    const declare = () => Semaphore({ name: 'slots', capacity: 2, tokens: 2 } as never);
    expect(declare).not.toThrow();
    expect(() => declare()(class Slots {})).toThrow(InvalidOptionError);
    expect(() => declare()(class Slots {})).toThrow('Option "tokens" of limiter "slots" is not an option');
    expect(() => Semaphore({ name: 'slots', capacity: 2, permits: 2 })(class Slots {})).not.toThrow();
  });
});
