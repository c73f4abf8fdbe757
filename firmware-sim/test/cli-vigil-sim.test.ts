import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { TruthRecord } from '../src/signals/index.ts'
import type { TruthRunHeader } from '../src/scenario/index.ts'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'vigil-sim-cli-'))

function vigilSim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

// Each case spawns a Node process; on a loaded CI machine that alone can take seconds.
describe('vigil-sim CLI', { timeout: 30_000 }, () => {
  it('--help documents every option and exits 0', () => {
    const r = vigilSim('--help')
    expect(r.status).toBe(0)
    for (const option of [
      '--scenario',
      '--ble',
      '--serial',
      '--speed',
      '--truth',
      '--seed',
      '--duration',
      '--help',
    ])
      expect(r.stdout).toContain(option)
  })

  it('--list prints the shipped scenarios', () => {
    const r = vigilSim('--list')
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^ward-32\s+32 patient\(s\)/m)
  })

  it.each([
    [['--speed', '2'], /missing --scenario/],
    [['--scenario', 'calm-night', '--speed', 'fast'], /--speed "fast" is not a positive number; use e\.g\./],
    [['--scenario', 'calm-night', '--speed', '0'], /--speed "0" is not a positive number/],
    [['--scenario', 'calm-night', '--seed', '1.5'], /--seed "1.5" is not an integer in 0\.\.4294967295/],
    [['--scenario', 'calm-night', '--seed=-1'], /--seed "-1" is not an integer/],
    [
      ['--scenario', 'calm-night', '--duration', 'ten'],
      /--duration "ten" is not a positive number of seconds/,
    ],
    [['--scenario', 'calm-night', '--bogus'], /Unknown option '--bogus'; see --help/],
    [['--scenario', 'calm-nite'], /scenario "calm-nite" not found.*use one of: calm-night/],
  ])('rejects %j with exit 2 and says what is wrong', (args, message) => {
    const r = vigilSim(...args)
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(message)
  })

  it('reports every bad field of a scenario file with its JSON path', () => {
    const file = join(dir, 'bad.json')
    writeFileSync(
      file,
      JSON.stringify({
        name: 'bad',
        durationS: 60,
        patients: [
          {
            id: 'a',
            sensors: [{ id: 'c', transport: 'usb', profile: 'ecg-patch' }],
            events: [{ type: 'vt', atS: 'soon', durationS: 5 }],
          },
        ],
      }),
    )
    const r = vigilSim('--scenario', file)
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`invalid scenario ${file}`)
    expect(r.stderr).toMatch(/patients\[0\]\.sensors\[0\]\.transport: .*"ble"\|"serial"/)
    expect(r.stderr).toMatch(/patients\[0\]\.events\[0\]\.atS: .*expected number/)
  })

  it('runs a scenario as fast as possible and writes the ground truth', () => {
    const truth = join(dir, 'truth.jsonl')
    const r = vigilSim(
      '--scenario',
      'cardiac-event-night',
      '--speed',
      'max',
      '--duration',
      '2500',
      '--seed',
      '9',
      '--truth',
      truth,
    )
    expect(r.stderr).toMatch(/done: 2500 s simulated/)
    expect(r.status).toBe(0)
    const lines = readFileSync(truth, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TruthRunHeader | TruthRecord)
    expect(lines[0]).toEqual({
      type: 'run',
      scenario: 'cardiac-event-night',
      seed: 9,
      startEpochMs: Date.parse('2026-01-01T22:00:00Z'),
      durationMs: 2_500_000,
      patients: ['bed-07'],
    })
    const records = lines.slice(1) as TruthRecord[]
    const peaks = records.filter((r) => r.type === 'r-peak')
    expect(peaks.length).toBeGreaterThan(3000)
    expect(peaks.some((p) => p.beat === 'V')).toBe(true)
    const starts = records.flatMap((r) => (r.type === 'event-start' ? [r.event.type] : []))
    expect(starts).toEqual(['pvc', 'pvc', 'vt', 'sinus-tachycardia', 'vt', 'vf'])
    // The VF that starts at 2490 s has not ended by 2500 s: no end record.
    expect(records.filter((r) => r.type === 'event-end')).toHaveLength(5)
    // Same seed, same truth.
    const again = join(dir, 'again.jsonl')
    vigilSim(
      '--scenario',
      'cardiac-event-night',
      '--speed',
      'max',
      '--duration',
      '2500',
      '--seed',
      '9',
      '--truth',
      again,
      '--quiet',
    )
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(truth, 'utf8'))
  }, 60_000)

  it('paces a run at --speed', () => {
    const started = performance.now()
    const r = vigilSim('--scenario', 'fall', '--speed', '20', '--duration', '10', '--quiet')
    expect(r.status).toBe(0)
    expect(r.stderr).toBe('')
    expect(performance.now() - started).toBeGreaterThan(450) // 10 s at 20× = 0.5 s
  }, 30_000)

  it('says where the truth file cannot be written', () => {
    const r = vigilSim(
      '--scenario',
      'fall',
      '--speed',
      'max',
      '--duration',
      '1',
      '--truth',
      join(dir, 'no-such-dir', 't.jsonl'),
    )
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/ENOENT.*no-such-dir/)
  })
})
