// vigil-sim's command line: parsed and validated in one place, with messages that name the bad value and the fix.
import { parseArgs } from 'node:util'

export const USAGE = `vigil-sim — simulated wearables for the Vigil gateway

Usage:
  vigil-sim --scenario <name|path> [--ble] [--serial <path>] [--speed <n|max>]
            [--truth <out.jsonl>] [--seed <N>] [--duration <s>] [--quiet]
  vigil-sim --list
  vigil-sim --help

Options:
  --scenario <name|path>  a shipped scenario (see --list) or a scenario .json file
  --ble                   serve the scenario's BLE sensors as a BlueZ look-alike on a private
                          D-Bus; its address is printed (use it as DBUS_SYSTEM_BUS_ADDRESS)
  --serial <path>         serve the scenario's serial sensors on a pseudo-terminal linked at <path>
  --speed <n|max>         simulated seconds per wall second (default 1); max = as fast as possible
  --truth <file>          write ground truth as JSON lines: a "run" header, then every R peak and
                          every event's onset and offset
  --seed <N>              integer 0..4294967295 (default: the scenario's seed); the same seed gives
                          identical samples
  --duration <s>          simulated seconds to run (default: the scenario's durationS)
  --list                  print the shipped scenarios and exit
  --quiet                 no progress or summary on stderr
  --help                  print this help and exit

Exit status: 0 done, 1 runtime failure, 2 bad arguments or scenario file.
Example:
  vigil-sim --scenario ward-32 --ble --serial /tmp/vigil-tty --speed 1 --truth truth.jsonl
`

export interface CliArgs {
  readonly help: boolean
  readonly list: boolean
  readonly quiet: boolean
  readonly scenario: string | undefined
  readonly ble: boolean
  readonly serial: string | undefined
  /** Simulated ms per wall ms; Infinity for max. */
  readonly speed: number
  readonly truth: string | undefined
  readonly seed: number | undefined
  readonly durationMs: number | undefined
}

export class CliArgsError extends Error {
  readonly code = 'INVALID_ARGUMENT'
  constructor(message: string) {
    super(message)
    this.name = 'CliArgsError'
  }
}

const options = {
  scenario: { type: 'string' },
  ble: { type: 'boolean' },
  serial: { type: 'string' },
  speed: { type: 'string' },
  truth: { type: 'string' },
  seed: { type: 'string' },
  duration: { type: 'string' },
  list: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/** Parses argv (without node and the script). Throws CliArgsError naming the bad option, value and fix. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: ReturnType<
    typeof parseArgs<{ options: typeof options; strict: true; allowPositionals: false }>
  >['values']
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (cause) {
    // node:util's messages span lines; one line reads better after "vigil-sim: error:".
    const text = (cause as Error).message
      .replace(/\. To specify a positional.*$/s, '')
      .split('\n')
      .map((line) => line.trim().replace(/([^.?!])$/, '$1.'))
      .join(' ')
    throw new CliArgsError(`${text.replace(/\.$/, '')}; see --help`)
  }
  const help = values.help === true
  const list = values.list === true
  if (!help && !list && values.scenario === undefined)
    throw new CliArgsError('missing --scenario <name|path>; run --list for the shipped scenarios')
  if (values.scenario === '')
    throw new CliArgsError('--scenario is empty; give a scenario name or a .json path')
  if (values.serial === '')
    throw new CliArgsError('--serial is empty; give the path where the pty link is created')
  if (values.truth === '') throw new CliArgsError('--truth is empty; give the output .jsonl path')
  return {
    help,
    list,
    quiet: values.quiet === true,
    scenario: values.scenario,
    ble: values.ble === true,
    serial: values.serial,
    speed: parseSpeed(values.speed),
    truth: values.truth,
    seed: values.seed === undefined ? undefined : parseSeed(values.seed),
    durationMs: values.duration === undefined ? undefined : parseDuration(values.duration),
  }
}

function parseSpeed(text: string | undefined): number {
  if (text === undefined) return 1
  if (text === 'max') return Number.POSITIVE_INFINITY
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new CliArgsError(
      `--speed ${JSON.stringify(text)} is not a positive number; use e.g. --speed 1, --speed 60 or --speed max`,
    )
  return n
}

function parseSeed(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > 0xffffffff)
    throw new CliArgsError(
      `--seed ${JSON.stringify(text)} is not an integer in 0..4294967295; use e.g. --seed 42`,
    )
  return n
}

function parseDuration(text: string): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new CliArgsError(
      `--duration ${JSON.stringify(text)} is not a positive number of seconds; use e.g. --duration 600`,
    )
  return n * 1000
}
