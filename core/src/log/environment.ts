import type { RootDatabase } from 'lmdb'
import { LogError } from './errors.ts'
import type { Log } from './log.ts'

/*
 * Core-internal access to a Log's LMDB environment, so the streams engine can build its state
 * stores in it and flush them inside `log.transact` (one transaction for outputs, input offsets and
 * state). Deliberately NOT exported from ./index.ts: the environment is not part of the Log's public
 * API (writing to it outside `transact` could break the log's invariants), and a WeakMap rather
 * than a Log member keeps it off the class's type.
 */

const environments = new WeakMap<Log, RootDatabase>()

/** Called once, by the Log constructor. */
export function registerEnvironment(log: Log, env: RootDatabase): void {
  environments.set(log, env)
}

/**
 * The LMDB environment `log` commits in. Valid while the log is open; write to it only inside
 * `log.transact` (state stores: flush there). Throws if `log` was not built by `Log.open` (cannot
 * happen for a real Log; a fake would have no environment).
 */
export function environmentOf(log: Log): RootDatabase {
  const env = environments.get(log)
  if (env === undefined) {
    throw new LogError(
      'INVALID_ARGUMENT',
      'environmentOf needs a Log opened with Log.open(), got another object',
    )
  }
  return env
}
