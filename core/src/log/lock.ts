import { linkSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LogError } from './errors.ts'

const LOCK_FILE = 'LOCK'
const heldHere = new Set<string>()

/** Who holds a lock: enough to tell a live holder from a dead one whose pid was reused. */
interface LockOwner {
  readonly pid: number
  /** Kernel boot id: a lock from before a reboot (power loss) is stale whatever its pid. */
  readonly bootId: string
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly startTime: string
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim()
  } catch {
    return ''
  }
}

function startTimeOf(pid: number): string {
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const stat = readOrEmpty(`/proc/${pid}/stat`)
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
}

function self(): LockOwner {
  return {
    pid: process.pid,
    bootId: readOrEmpty('/proc/sys/kernel/random/boot_id'),
    startTime: startTimeOf(process.pid),
  }
}

function isAlive(owner: LockOwner): boolean {
  const current = self()
  if (owner.bootId !== current.bootId) return false
  try {
    process.kill(owner.pid, 0)
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  return owner.startTime === startTimeOf(owner.pid)
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>
    if (
      typeof owner.pid === 'number' &&
      typeof owner.bootId === 'string' &&
      typeof owner.startTime === 'string'
    ) {
      return owner as LockOwner
    }
  } catch {
    // not ours, or from an older build: stale
  }
  return undefined
}

/**
 * Takes the data directory for this process. The log keeps offsets and byte counts in memory,
 * so two writers on one directory would corrupt it. The lock file names its owner (pid, boot
 * id, process start time) and is created atomically with its content (link of a written
 * temporary file); a lock whose owner is gone — killed, or from before a reboot, even if its pid
 * now belongs to another process — is taken over.
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
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(self()))
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(tmp, path)
        heldHere.add(path)
        return () => {
          heldHere.delete(path)
          rmSync(path, { force: true })
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      const text = readOrEmpty(path)
      if (text === '') continue // removed meanwhile: try again
      const owner = parseOwner(text)
      if (owner && isAlive(owner)) {
        throw new LogError(
          'LOG_LOCKED',
          `data directory ${dataDir} is in use by process ${owner.pid}; stop it or use another dataDir`,
          { retriable: true },
        )
      }
      rmSync(path, { force: true })
    }
  } finally {
    rmSync(tmp, { force: true })
  }
  throw new LogError('LOG_LOCKED', `could not take the lock ${path}; other processes are racing for it`, {
    retriable: true,
  })
}
