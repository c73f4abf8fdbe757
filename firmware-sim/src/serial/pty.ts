import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { lstat, readlink, unlink } from 'node:fs/promises'
import type { Readable, Writable } from 'node:stream'
import { SerialSimError } from './errors.ts'

/** How long socat may take to create the pty before start fails. */
export const DEFAULT_PTY_START_TIMEOUT_MS = 5_000
/** How long close() waits for socat to exit after its input ends, before SIGTERM (and as long again before SIGKILL). */
export const DEFAULT_PTY_STOP_TIMEOUT_MS = 2_000

export interface PtyOptions {
  /** Path of the symlink to the pty's slave side: what the gateway opens (e.g. /tmp/vigil-tty). */
  readonly link: string
  /** Default 'socat' (looked up in PATH). */
  readonly socatPath?: string
  readonly startTimeoutMs?: number
}

/** A pseudo-terminal whose master side is this process's pipe to socat. */
export interface Pty {
  readonly link: string
  /** The /dev/pts/N the link points to. */
  readonly device: string
  readonly pid: number
  /** Bytes written here come out of the pty (to whoever opened `link`). Honour backpressure. */
  readonly input: Writable
  /** Bytes the gateway writes to the pty (unused by the simulated device, but drained). */
  readonly output: Readable
  /** Resolves when socat exits, with its exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>
  /** Ends the input, waits for socat to exit (SIGTERM, then SIGKILL, on timeout), removes the link; idempotent. */
  close(): Promise<void>
}

/*
 * socat -d -d -t 0.1 pty,raw,echo=0,link=<link> STDIO
 * One pty, not the usual pair: socat copies our stdin to the pty master, so a full pty (no reader)
 * becomes backpressure on a Node stream instead of a blocking write on a second tty. The slave side
 * may be opened, closed and reopened by the gateway while socat keeps running; bytes written while
 * no one has it open wait in the pty's buffer, like a UART FIFO.
 */
export async function openPty(options: PtyOptions): Promise<Pty> {
  const { link } = options
  if (typeof link !== 'string' || link === '' || /[,!:]/.test(link)) {
    throw new SerialSimError(
      'INVALID_ARGUMENT',
      `link must be a file path without ',', '!' or ':' (socat address syntax), got ${JSON.stringify(link)}`,
    )
  }
  await removeStaleLink(link)
  const timeoutMs = options.startTimeoutMs ?? DEFAULT_PTY_START_TIMEOUT_MS
  const child: ChildProcessByStdio<Writable, Readable, Readable> = spawn(
    options.socatPath ?? 'socat',
    ['-d', '-d', '-t', '0.1', `pty,raw,echo=0,link=${link}`, 'STDIO'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  )
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      resolve(code)
    })
  })
  child.stdout.resume()
  // A write after socat died would otherwise crash the process with EPIPE.
  child.stdin.on('error', () => {})
  let stderr = ''
  child.stderr.setEncoding('utf8')
  const device = await new Promise<string>((resolve, reject) => {
    let pts = ''
    const timer = setTimeout(() => {
      fail(
        new SerialSimError(
          'PTY_FAILED',
          `socat did not create the pty within ${timeoutMs} ms: ${stderr.trim()}`,
        ),
      )
    }, timeoutMs)
    const fail = (e: Error): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(e)
    }
    child.once('error', (e: NodeJS.ErrnoException) => {
      fail(
        e.code === 'ENOENT'
          ? new SerialSimError(
              'SOCAT_NOT_FOUND',
              'socat is not installed; install it (Debian: apt-get install socat)',
              { cause: e },
            )
          : new SerialSimError('PTY_FAILED', `could not start socat: ${e.message}`, { cause: e }),
      )
    })
    child.once('exit', (code) => {
      fail(
        new SerialSimError(
          'PTY_FAILED',
          `socat exited with code ${code} before the pty was ready: ${stderr.trim()}`,
        ),
      )
    })
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 8192) stderr += s
      pts ||= /PTY is (\S+)/.exec(stderr)?.[1] ?? ''
      if (stderr.includes('starting data transfer loop')) {
        clearTimeout(timer)
        child.removeAllListeners('exit')
        resolve(pts)
      }
    })
  })
  let closing: Promise<void> | null = null
  return {
    link,
    device,
    pid: child.pid!,
    input: child.stdin,
    output: child.stdout,
    exited,
    close(): Promise<void> {
      closing ??= (async () => {
        // With writes still queued, socat is stuck on a full pty and would never see the end of its input.
        const stuck = child.stdin.writableNeedDrain
        child.stdin.end()
        if (stuck) child.kill('SIGTERM')
        const stopMs = DEFAULT_PTY_STOP_TIMEOUT_MS
        if (!(await Promise.race([exited.then(() => true), delay(stopMs)]))) {
          child.kill('SIGTERM')
          if (!(await Promise.race([exited.then(() => true), delay(stopMs)]))) child.kill('SIGKILL')
          await exited
        }
        await removeStaleLink(link)
      })()
      return closing
    },
  }
}

function delay(ms: number): Promise<false> {
  return new Promise((resolve) => {
    setTimeout(() => {
      resolve(false)
    }, ms).unref()
  })
}

/** Removes `link` if it is a symlink into /dev/pts (a previous run's); refuses to touch anything else. */
async function removeStaleLink(link: string): Promise<void> {
  let isLink: boolean
  try {
    isLink = (await lstat(link)).isSymbolicLink()
  } catch {
    return
  }
  const target = isLink ? await readlink(link) : ''
  if (!target.startsWith('/dev/pts/')) {
    throw new SerialSimError(
      'INVALID_ARGUMENT',
      `${link} exists and is not a link to a pseudo-terminal (${isLink ? `→ ${target}` : 'not a symlink'}); choose another path or remove it`,
    )
  }
  await unlink(link).catch(() => {})
}
