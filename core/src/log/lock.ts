import { closeSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { LogError } from './errors.ts'

const LOCK_FILE = 'LOCK'
const heldHere = new Set<string>()

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Takes the data directory for this process. The log keeps offsets and byte counts in memory,
 * so two writers on one directory would corrupt it; a stale lock of a dead process (SIGKILL,
 * power loss) is taken over.
 */
export function acquireDirectoryLock(dataDir: string): () => void {
  // One spelling per directory, so "./data" and "/abs/data" are the same lock.
  const path = join(realpathSync(dataDir), LOCK_FILE)
  if (heldHere.has(path)) {
    throw new LogError(
      'LOG_LOCKED',
      `data directory ${dataDir} is already open in this process; close it first`,
    )
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx')
      writeSync(fd, String(process.pid))
      closeSync(fd)
      heldHere.add(path)
      return () => {
        heldHere.delete(path)
        rmSync(path, { force: true })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10)
      if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
        throw new LogError(
          'LOG_LOCKED',
          `data directory ${dataDir} is in use by process ${owner}; stop it or use another dataDir`,
          { retriable: true },
        )
      }
      rmSync(path, { force: true })
    }
  }
  throw new LogError('LOG_LOCKED', `could not take the lock ${path}; another process is racing for it`, {
    retriable: true,
  })
}
