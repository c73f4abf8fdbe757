import { cpus } from 'node:os'

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

export interface Row {
  readonly metric: string
  readonly value: number
  readonly target?: string
  readonly ok?: boolean
}

/** Prints the readable table, then the machine-readable BENCH line last (DESIGN.md, "Benchmarks"). */
export function report(bench: string, rows: readonly Row[]): void {
  const fmt = (n: number): string =>
    Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(3)
  const widths = [Math.max(6, ...rows.map((r) => r.metric.length)), 16, 24]
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 6)).join('  ')
  console.log(`\n${bench} — node ${process.version}, ${cpus().length} cpus`)
  console.log(line(['metric', 'value', 'target', 'met']))
  for (const r of rows)
    console.log(line([r.metric, fmt(r.value), r.target ?? '', r.ok === undefined ? '' : r.ok ? 'yes' : 'NO']))
  const metrics = Object.fromEntries(rows.map((r) => [r.metric, Number(r.value.toPrecision(6))]))
  console.log(`BENCH ${JSON.stringify({ bench, node: process.version, cpus: cpus().length, metrics })}`)
}
