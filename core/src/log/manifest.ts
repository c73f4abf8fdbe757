import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LogError } from './errors.ts'

/**
 * `vigil-log.json` beside the LMDB file says what the directory holds: the format version and
 * whether (and with which key, as an HMAC) it is encrypted. It is checked BEFORE LMDB opens the
 * data file, because lmdb-js aborts the process on a file that is not LMDB and on a missing or
 * wrong encryption key instead of throwing.
 */
export const MANIFEST_FILE = 'vigil-log.json'

interface Manifest {
  readonly format: number
  readonly createdAtMs: number
  /** HMAC-SHA256 of a fixed label under the LMDB key, hex; absent when not encrypted. */
  readonly keyCheck?: string
}

const KEY_CHECK_LABEL = 'vigil-log key check v1'

/**
 * lmdb-js takes its key as a 32-character string; the user's 32 key bytes are hashed and the
 * first 24 bytes base64-encoded (192 bits) so any byte values work.
 */
export function lmdbKey(encryptionKey: string | Uint8Array): string {
  return createHash('sha256').update(encryptionKey).digest().subarray(0, 24).toString('base64')
}

function keyCheck(key: string): string {
  return createHmac('sha256', key).update(KEY_CHECK_LABEL).digest('hex')
}

/**
 * Verifies (or, for a new directory, writes) the manifest. Throws FORMAT_VERSION_MISMATCH for a
 * directory of another format or one with data but no manifest, ENCRYPTION_KEY_MISMATCH for a
 * missing, unexpected or wrong key.
 */
export function checkManifest(
  dataDir: string,
  dataFile: string,
  format: number,
  key: string | undefined,
  nowMs: number,
): void {
  const path = join(dataDir, MANIFEST_FILE)
  if (!existsSync(path)) {
    if (existsSync(join(dataDir, dataFile))) {
      throw new LogError(
        'FORMAT_VERSION_MISMATCH',
        `${join(dataDir, dataFile)} exists but ${MANIFEST_FILE} does not: this is not a Vigil log directory; point dataDir at an empty or Vigil directory`,
      )
    }
    const manifest: Manifest = {
      format,
      createdAtMs: nowMs,
      ...(key !== undefined ? { keyCheck: keyCheck(key) } : {}),
    }
    const tmp = `${path}.tmp`
    writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`)
    const fd = openSync(tmp, 'r')
    fsyncSync(fd)
    closeSync(fd)
    renameSync(tmp, path)
    const dir = openSync(dataDir, 'r')
    fsyncSync(dir)
    closeSync(dir)
    return
  }
  let manifest: Partial<Manifest>
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Partial<Manifest>
  } catch (cause) {
    throw new LogError(
      'FORMAT_VERSION_MISMATCH',
      `${path} is not valid JSON (${String(cause)}); restore it or point dataDir elsewhere`,
      {
        cause,
      },
    )
  }
  if (manifest.format !== format) {
    throw new LogError(
      'FORMAT_VERSION_MISMATCH',
      `data directory ${dataDir} is log format ${JSON.stringify(manifest.format)}, this build reads format ${format}; run the Vigil version that wrote it, or migrate/move the directory`,
    )
  }
  if (manifest.keyCheck === undefined && key !== undefined) {
    throw new LogError(
      'ENCRYPTION_KEY_MISMATCH',
      `data directory ${dataDir} is not encrypted; open it without encryptionKey`,
    )
  }
  if (manifest.keyCheck !== undefined) {
    if (key === undefined) {
      throw new LogError(
        'ENCRYPTION_KEY_MISMATCH',
        `data directory ${dataDir} is encrypted; pass the encryptionKey it was created with`,
      )
    }
    const expected = Buffer.from(manifest.keyCheck, 'hex')
    const actual = Buffer.from(keyCheck(key), 'hex')
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
      throw new LogError(
        'ENCRYPTION_KEY_MISMATCH',
        `the encryptionKey does not match the one ${dataDir} was created with`,
      )
    }
  }
}
