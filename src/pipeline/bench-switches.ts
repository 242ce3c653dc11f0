/**
 * BENCH_DISABLE_STAGES (issue 15): switches stages of the request pipeline off, so the benchmark
 * can price each stage as the difference between the gateway and a twin without it
 * (bench/run.ts `gateway-no-<stage>`). Honoured only together with BENCH_MODE=1, so a stray
 * variable in production can never switch a defence off; read from process.env here rather than
 * src/config.ts because it is a measurement switch, not configuration. A warning is logged at
 * start whenever one is in effect.
 */

/** The stages a twin may switch off. */
export const BENCH_STAGES = ['tracing', 'admission', 'identify', 'headers', 'metrics', 'log'] as const
export type BenchStage = (typeof BENCH_STAGES)[number]

export function benchDisabledStages(env: NodeJS.ProcessEnv): ReadonlySet<BenchStage> {
  const list = (env.BENCH_DISABLE_STAGES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (list.length === 0 || env.BENCH_MODE !== '1') return new Set()
  const unknown = list.filter((s) => !(BENCH_STAGES as readonly string[]).includes(s))
  if (unknown.length > 0)
    throw new Error(`BENCH_DISABLE_STAGES: unknown stage(s) ${unknown.join(', ')}; known: ${BENCH_STAGES.join(', ')}`)
  return new Set(list as BenchStage[])
}
