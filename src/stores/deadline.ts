/**
 * A deadline a busy event loop cannot trip: STYLE.md's "timers on a busy event loop lie". A plain
 * timeout fires in the timers phase, before the loop has read the sockets, so a reply that arrived
 * while the loop was busy would be counted as a miss (issue 14 found this in the limiter; ioredis'
 * commandTimeout has the same flaw). Here the timer only suspects: the verdict waits for one more
 * I/O poll phase, in which any reply already received is read.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, onMiss: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return
        settled = true
        reject(onMiss())
      })
    }, ms)
    p.then(
      (v) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(v)
      },
      (err: unknown) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        reject(err)
      }
    )
  })
}
