/**
 * Progress for long CLI work (backup, restore, migrate): a bar on a terminal (cli-progress),
 * plain lines at most once a second otherwise, so logs and CI output stay readable.
 */
import cliProgress from 'cli-progress'

export interface Progress {
  update(done: number, total: number, detail?: string): void
  stop(summary: string): void
}

export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% {value}/{total} {detail}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic
    )
    let started = false
    return {
      update(done, total, detail = '') {
        if (!started) {
          bar.start(Math.max(total, 1), 0, { detail })
          started = true
        }
        bar.setTotal(Math.max(total, 1))
        bar.update(done, { detail })
      },
      stop(summary) {
        if (started) bar.stop()
        stream.write(`${summary}\n`)
      }
    }
  }
  let last = 0
  return {
    update(done, total, detail = '') {
      const now = Date.now()
      if (now - last < 1_000 && done < total) return
      last = now
      stream.write(`${label}: ${done}/${total}${detail === '' ? '' : ` ${detail}`}\n`)
    },
    stop(summary) {
      stream.write(`${summary}\n`)
    }
  }
}
