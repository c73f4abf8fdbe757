// vigil-sim stops on SIGINT/SIGTERM even while its serial device is blocked on a pty nobody reads:
// the process exits promptly, its socat child is gone and the --serial link is removed.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...], or null if there is no such process. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

function childrenOf(ppid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => procStat(pid)?.[1] === String(ppid))
}

/** Running (not gone, not a zombie waiting to be reaped). */
function alive(pid: number): boolean {
  const s = procStat(pid)
  return s !== null && s[0] !== 'Z' && s[0] !== 'X'
}

function linkExists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

describe('vigil-sim signals', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s while the serial device waits on an unread pty: exits, stops socat, removes the link',
    async (signal) => {
      const link = join(mkdtempSync(join(tmpdir(), 'vigil-sim-sig-')), 'tty')
      const child = spawn(
        process.execPath,
        [
          cli,
          '--scenario',
          'desaturation',
          '--serial',
          link,
          '--speed',
          'max',
          '--duration',
          '600',
          '--quiet',
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
      let socat: number[] = []
      try {
        const lines = createInterface({ input: child.stdout })
        for await (const line of lines) if (line.startsWith('SERIAL_LINK=')) break
        socat = childrenOf(child.pid!)
        expect(socat).toHaveLength(1)
        expect(existsSync(link)).toBe(true)
        // The scenario itself runs in well under a second at max speed; the pty fills in less. By now the
        // CLI waits for the serial device, which waits for a reader that never comes.
        await sleep(1500)
        expect(child.exitCode).toBeNull()
        child.kill(signal)
        const result = await Promise.race([exited, sleep(8000).then(() => 'timeout' as const)])
        expect(result).toEqual([0, null])
        expect(socat.filter(alive)).toEqual([])
        expect(linkExists(link)).toBe(false)
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        for (const pid of socat) if (alive(pid)) process.kill(pid, 'SIGKILL')
      }
    },
    30_000,
  )
})
