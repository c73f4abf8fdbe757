import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BleSimError } from './errors.ts'

/** How long the daemon may take to print its address before start fails. */
export const DEFAULT_DAEMON_START_TIMEOUT_MS = 5_000
/** How long close() waits for the daemon to exit after SIGTERM before SIGKILL. */
export const DEFAULT_DAEMON_STOP_TIMEOUT_MS = 2_000

export interface PrivateBus {
  /** `unix:path=…`: give it to clients as DBUS_SYSTEM_BUS_ADDRESS. */
  readonly address: string
  readonly pid: number
  /** Stops the daemon and removes its temp directory; idempotent. */
  close(): Promise<void>
}

export interface PrivateBusOptions {
  readonly dbusDaemonPath?: string
  readonly startTimeoutMs?: number
}

// A system-type bus that lets anyone own any name: BlueZ's real policy would refuse org.bluez to a user.
function config(socketPath: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
  "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socketPath}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`
}

/**
 * Starts a private dbus-daemon with its config and socket in a fresh temp directory.
 * Throws BleSimError DAEMON_FAILED when it exits or prints no address within `startTimeoutMs`.
 */
export async function startPrivateBus(options: PrivateBusOptions = {}): Promise<PrivateBus> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-dbus-'))
  const configPath = join(dir, 'bus.conf')
  const socketPath = join(dir, 'bus.sock')
  await writeFile(configPath, config(socketPath))
  const child = spawn(
    options.dbusDaemonPath ?? 'dbus-daemon',
    [`--config-file=${configPath}`, '--nofork', '--print-address=1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s
  })
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve()
    }),
  )
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
      }, DEFAULT_DAEMON_STOP_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    // The printed address carries a guid too; the printing is only the readiness signal.
    await new Promise<string>((resolve, reject) => {
      let out = ''
      const timeoutMs = options.startTimeoutMs ?? DEFAULT_DAEMON_START_TIMEOUT_MS
      const timer = setTimeout(() => {
        reject(
          new BleSimError(
            'DAEMON_FAILED',
            `dbus-daemon printed no address within ${timeoutMs} ms: ${stderr}`,
          ),
        )
      }, timeoutMs)
      child.once('error', (e) => {
        clearTimeout(timer)
        reject(new BleSimError('DAEMON_FAILED', `cannot start dbus-daemon: ${e.message}`, { cause: e }))
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(
          new BleSimError(
            'DAEMON_FAILED',
            `dbus-daemon exited (${code ?? signal}) before printing its address: ${stderr}`,
          ),
        )
      })
      child.stdout.setEncoding('utf8')
      child.stdout.on('data', (s: string) => {
        out += s
        const nl = out.indexOf('\n')
        if (nl >= 0) {
          clearTimeout(timer)
          resolve(out.slice(0, nl).trim())
        }
      })
    })
    let closing: Promise<void> | null = null
    return {
      address: `unix:path=${socketPath}`,
      pid: child.pid!,
      close: () => (closing ??= cleanup()),
    }
  } catch (e) {
    await cleanup()
    throw e
  }
}
