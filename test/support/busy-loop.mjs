// Preloaded into a gateway process by tests (`node --import ./test/support/busy-loop.mjs`) to
// saturate its event loop for real: every BUSY_LOOP_EVERY_MS the loop is held for BUSY_LOOP_MS of
// CPU, as a process drowning in work would be. The gateway's own code is unchanged.
const busyMs = Number(process.env.BUSY_LOOP_MS ?? 0)
const everyMs = Number(process.env.BUSY_LOOP_EVERY_MS ?? 1)
if (busyMs > 0) {
  setInterval(() => {
    const end = Date.now() + busyMs
    while (Date.now() < end) {
      // burn
    }
  }, everyMs).unref()
}
