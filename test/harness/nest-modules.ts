/** Nest testing modules for specs: each one started here is closed after its test. */
import type { LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';

export function useNestModules(): {
  start(metadata: ModuleMetadata, options?: { logger?: LoggerService }): Promise<TestingModule>;
  compileError(metadata: ModuleMetadata): Promise<Error>;
} {
  const started: TestingModule[] = [];
  // Nest 10's close() first awaits init() again, so a module whose start failed rejects its
  // close with that same failure, which its test has already seen and checked.
  const initFailures = new WeakMap<TestingModule, unknown>();
  afterEach(async () => {
    await Promise.all(
      started.splice(0).map((m) =>
        m.close().catch((error: unknown) => {
          if (!initFailures.has(m) || error !== initFailures.get(m)) throw error;
        }),
      ),
    );
  });
  return {
    /** Compiles and initialises, as NestFactory.create does before listening; `logger` gets what Nest logs. */
    async start(metadata, { logger } = {}) {
      const builder = Test.createTestingModule(metadata);
      const module = await (logger ? builder.setLogger(logger) : builder).compile();
      started.push(module);
      return module.init().catch((error: unknown) => {
        initFailures.set(module, error);
        throw error;
      });
    },
    /** The error compile() fails with; fails the test when it compiles. */
    async compileError(metadata) {
      const module = await Test.createTestingModule(metadata)
        .compile()
        .catch((error: unknown) => error);
      if (!(module instanceof Error)) {
        started.push(module as TestingModule);
        throw new Error('expected the module to fail at compile, but it compiled');
      }
      return module;
    },
  };
}
