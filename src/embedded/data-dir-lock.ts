import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One manager at a time on a data directory: two PGlite instances (or two Redis servers) on the same files
 * would corrupt them. The lock is a file holding the owner's pid; a lock whose owner is gone is taken over.
 */
/** Lock files this process holds: a second manager started in it must not open the same files. */
const heldHere = new Set<string>();

export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  await mkdir(dataDir, { recursive: true });
  const lockFile = join(dataDir, 'manager.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: 'wx' });
      heldHere.add(lockFile);
      return {
        release: async () => {
          heldHere.delete(lockFile);
          await rm(lockFile, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
    // Our own pid is a previous incarnation's (a container's pid 1, say), unless this process holds it.
    if (heldHere.has(lockFile) || (owner > 0 && owner !== process.pid && isRunning(owner)))
      throw new Error(
        `another manager (pid ${owner}) uses the data directory ${dataDir}; stop it or set MANAGER_DATA_DIR`,
      );
    await rm(lockFile, { force: true });
  }
  throw new Error(`could not lock the data directory ${dataDir}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
