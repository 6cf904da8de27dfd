/** Nest testing modules for specs: each one started here is closed after its test. */
import type { ModuleMetadata } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';

export function useNestModules(): {
  start(metadata: ModuleMetadata): Promise<TestingModule>;
  compileError(metadata: ModuleMetadata): Promise<Error>;
} {
  const started: TestingModule[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((m) => m.close()));
  });
  return {
    /** Compiles and initialises, as NestFactory.create does before listening. */
    async start(metadata) {
      const module = await Test.createTestingModule(metadata).compile();
      started.push(module);
      return module.init();
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
