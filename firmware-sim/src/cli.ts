#!/usr/bin/env node
// vigil-sim: runs a scenario's simulated patients, serving them over BLE (private D-Bus) and serial (pty),
// and writes ground truth. See USAGE in scenario/cli-args.ts.
import { CliArgsError, parseCliArgs, USAGE, type CliArgs } from './scenario/cli-args.ts'
import {
  createScenarioSimulations,
  listScenarios,
  loadScenario,
  runScenario,
  ScenarioError,
  TruthFile,
  type ScenarioSpec,
} from './scenario/index.ts'
import type { SimOutput } from './signals/index.ts'

/** A transport the run feeds; closed when the run ends. */
interface Transport {
  readonly name: string
  /** Receives every tick's outputs when the transport is driven by the run loop. */
  readonly publish?: (outputs: readonly SimOutput[]) => void
  /** Resolves when the transport has sent the whole run (for self-paced transports). */
  readonly done?: Promise<void>
  close(): Promise<void>
}

const log = (quiet: boolean, line: string): void => {
  if (!quiet) process.stderr.write(`vigil-sim: ${line}\n`)
}

async function startBle(scenario: ScenarioSpec, quiet: boolean): Promise<Transport> {
  const { startBleSimulator, bleDevicesOf } = await import('./ble/index.ts')
  const devices = bleDevicesOf(scenario.patients)
  const sim = await startBleSimulator({ devices, startEpochMs: scenario.startEpochMs })
  log(quiet, `BLE: ${devices.length} device(s) on DBUS_SYSTEM_BUS_ADDRESS=${sim.busAddress}`)
  // Machine-readable on stdout, so a test or script can pick it up.
  process.stdout.write(`DBUS_SYSTEM_BUS_ADDRESS=${sim.busAddress}\n`)
  return {
    name: 'ble',
    publish: (outputs) => {
      for (const out of outputs) sim.publish(out)
    },
    close: () => sim.close(),
  }
}

async function startSerial(
  scenario: ScenarioSpec,
  args: CliArgs,
  seed: number,
  durationMs: number,
): Promise<Transport> {
  const { startSerialDevice, serialSourceFromSimulations } = await import('./serial/index.ts')
  // The serial device paces itself, so it gets its own simulations; the same seed makes them identical to the run's.
  const source = serialSourceFromSimulations(createScenarioSimulations(scenario, seed))
  const device = await startSerialDevice({ link: args.serial!, source, speed: args.speed, durationMs })
  log(args.quiet, `serial: pty ${device.device} linked at ${device.link}`)
  process.stdout.write(`SERIAL_LINK=${device.link}\n`)
  return { name: 'serial', done: device.done, close: () => device.close() }
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs
  try {
    args = parseCliArgs(argv)
  } catch (error) {
    if (!(error instanceof CliArgsError)) throw error
    process.stderr.write(`vigil-sim: error: ${error.message}\n`)
    return 2
  }
  if (args.help) {
    process.stdout.write(USAGE)
    return 0
  }
  if (args.list) {
    for (const name of listScenarios()) {
      const s = loadScenario(name)
      process.stdout.write(
        `${name.padEnd(22)} ${s.patients.length} patient(s), ${s.durationMs / 1000} s  ${s.description}\n`,
      )
    }
    return 0
  }
  let scenario: ScenarioSpec
  try {
    scenario = loadScenario(args.scenario!)
  } catch (error) {
    if (!(error instanceof ScenarioError)) throw error
    process.stderr.write(`vigil-sim: error: ${error.message}\n`)
    return 2
  }
  const seed = args.seed ?? scenario.seed
  const durationMs = args.durationMs ?? scenario.durationMs
  const controller = new AbortController()
  const stop = (): void => {
    controller.abort()
  }
  // `on`, not `once`, and kept until the cleanup in `finally` has run: a second signal while the
  // transports close must not kill the process with socat and the --serial link left behind.
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)

  const transports: Transport[] = []
  let truth: TruthFile | undefined
  try {
    if (args.truth !== undefined) truth = await TruthFile.open(args.truth, scenario, seed, durationMs)
    if (args.ble) transports.push(await startBle(scenario, args.quiet))
    if (args.serial !== undefined) transports.push(await startSerial(scenario, args, seed, durationMs))
    const speedText = Number.isFinite(args.speed) ? `${args.speed}×` : 'max speed'
    log(
      args.quiet,
      `running ${scenario.name} (${scenario.patients.length} patients, seed ${seed}) for ${durationMs / 1000} s at ${speedText}`,
    )
    const summary = await runScenario({
      scenario,
      seed,
      durationMs,
      speed: args.speed,
      signal: controller.signal,
      onTick: async (outputs) => {
        for (const t of transports) t.publish?.(outputs)
        if (truth !== undefined) {
          for (const out of outputs) truth.add(out.truth)
          await truth.flush()
        }
      },
    })
    // A self-paced transport may still be sending (or blocked on a pty nobody reads): a signal stops the wait.
    if (!summary.aborted)
      await untilAborted(
        Promise.all(transports.flatMap((t) => (t.done === undefined ? [] : [t.done]))),
        controller.signal,
      )
    const stopped = summary.aborted || controller.signal.aborted
    log(
      args.quiet,
      `${stopped ? 'stopped' : 'done'}: ${summary.simulatedMs / 1000} s simulated in ${(summary.wallMs / 1000).toFixed(2)} s wall, ` +
        `${summary.samples} samples in ${summary.blocks} blocks, ${summary.vitals} vitals, ${summary.truthRecords} truth records` +
        (args.truth === undefined ? '' : ` → ${args.truth}`),
    )
    return 0
  } catch (error) {
    process.stderr.write(`vigil-sim: error: ${(error as Error).message}\n`)
    return 1
  } finally {
    await truth?.close().catch(() => undefined)
    for (const t of transports.reverse()) await t.close().catch(() => undefined)
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

/** Settles with `work`, or resolves as soon as `signal` aborts (leaving `work` to the caller's cleanup). */
async function untilAborted(work: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return
  let onAbort = (): void => {}
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

process.exitCode = await main(process.argv.slice(2))
