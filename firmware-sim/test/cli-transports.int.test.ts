// vigil-sim with both transports: a serialport reader on the pty link decodes frames whose ECG samples equal the
// generator's (same scenario and seed), and the BLE bus address is announced for node-ble.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SerialPort } from 'serialport'
import { describe, expect, it } from 'vitest'
import { SerialFrameDecoder, type SerialFrame } from '@vigil/device/protocol'
import { loadScenario } from '../src/scenario/index.ts'
import { createPatientSimulation } from '../src/signals/index.ts'

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url))

describe('vigil-sim --ble --serial', () => {
  it('serves the scenario on a pty and a private D-Bus until the duration ends', async () => {
    const link = join(mkdtempSync(join(tmpdir(), 'vigil-sim-int-')), 'tty')
    const child = spawn(
      process.execPath,
      [
        cli,
        '--scenario',
        'desaturation',
        '--ble',
        '--serial',
        link,
        '--speed',
        '4',
        '--duration',
        '8',
        '--seed',
        '5',
        '--quiet',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const exited = once(child, 'exit')
    const announced = new Map<string, string>()
    const lines = createInterface({ input: child.stdout })
    for await (const line of lines) {
      const eq = line.indexOf('=')
      if (eq > 0) announced.set(line.slice(0, eq), line.slice(eq + 1))
      if (announced.has('SERIAL_LINK') && announced.has('DBUS_SYSTEM_BUS_ADDRESS')) break
    }
    expect(announced.get('DBUS_SYSTEM_BUS_ADDRESS')).toMatch(/^unix:path=/)
    expect(announced.get('SERIAL_LINK')).toBe(link)

    const port = new SerialPort({ path: link, baudRate: 115_200 })
    const decoder = new SerialFrameDecoder()
    const frames: SerialFrame[] = []
    port.on('data', (chunk: Buffer) => {
      for (const r of decoder.push(chunk)) if (r.ok) frames.push(r.frame)
    })
    await once(port, 'open')
    const [code] = (await exited) as [number | null]
    if (port.isOpen)
      await new Promise((resolve) => {
        port.close(resolve)
      })
    expect(code).toBe(0)
    expect(decoder.stats.errors).toBe(0)

    // The serial sensor of this scenario is the ECG patch: its sample blocks are the generator's.
    const ecg = frames.flatMap((f) => (f.type === 'samples' && f.signal === 'ecg' ? [f] : []))
    expect(ecg.length).toBeGreaterThan(5)
    const scenario = loadScenario('desaturation')
    const sim = createPatientSimulation(scenario.patients[0]!, { scenarioName: scenario.name, seed: 5 })
    const expected = sim.advanceTo(8000).blocks.filter((b) => b.sensorId === 'chest' && b.channel === 'ecg')
    const last = ecg[ecg.length - 1]!
    const match = expected.find((b) => [...b.samples].join() === [...last.samples].join())
    expect(match).toBeDefined()
  }, 60_000)
})
