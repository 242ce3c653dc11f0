/**
 * Sustained-overload signal (issue 14), in the manner of CoDel: the queueing time that matters in
 * one Node process is how long ready work waits for the event loop, sampled as the lateness of a
 * periodic timer. A burst makes that delay spike and then drain; that is normal traffic and must be
 * served. Overload is the delay staying above `targetMs` for all of `sustainMs`: arrivals keep
 * outpacing the loop. Shedding stops at the first sample below target; when the delay rises again
 * soon after (within `sustainMs`), shedding resumes at once, as CoDel re-enters its dropping state,
 * so a process at its limit alternates serving and shedding instead of re-queueing for a window.
 */
export interface OverloadOptions {
  /** Event-loop delay (ms) that counts as queueing (LOAD_SHED_MAX_EVENT_LOOP_DELAY_MS, default 100). */
  targetMs: number
  /** How long the delay must stay above target before shedding starts (LOAD_SHED_SUSTAIN_MS, default 2000). */
  sustainMs: number
  /** Sampling period, ms (default 50). */
  sampleMs?: number
}

export interface OverloadDetector {
  overloaded(): boolean
  /** The last sampled event-loop delay, ms. */
  delayMs(): number
  /** Starts sampling; samples in the first `graceMs` are ignored (start-up stalls are not overload). */
  start(graceMs?: number): void
  stop(): void
}

export function createOverloadDetector(opts: OverloadOptions): OverloadDetector {
  const sampleMs = opts.sampleMs ?? 50
  let timer: NodeJS.Timeout | undefined
  let expected = 0
  let lastDelay = 0
  let aboveSince: number | undefined
  let shedding = false
  let shedEndedAt = Number.NEGATIVE_INFINITY
  let notBefore = 0

  function sample(): void {
    const now = performance.now()
    const delay = Math.max(0, now - expected)
    expected = now + sampleMs
    lastDelay = delay
    if (now < notBefore) return
    if (delay <= opts.targetMs) {
      if (shedding) shedEndedAt = now
      shedding = false
      aboveSince = undefined
      return
    }
    // The loop has been late since this timer was due, not only since it finally ran.
    aboveSince ??= now - delay
    if (!shedding && (now - aboveSince >= opts.sustainMs || now - shedEndedAt < opts.sustainMs)) shedding = true
  }

  return {
    overloaded: () => shedding,
    delayMs: () => lastDelay,
    start(graceMs = 0) {
      expected = performance.now() + sampleMs
      notBefore = performance.now() + graceMs
      timer = setInterval(sample, sampleMs)
      timer.unref()
    },
    stop() {
      if (timer !== undefined) clearInterval(timer)
    }
  }
}
