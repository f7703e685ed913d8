// Loads every module `src/main.ts` loads to start the manager, without starting it.
await import('../../src/manager.ts');
await import('../../src/start-up-banner.ts');
process.exit(0);
