/** A gateway started as its own process (`src/server.ts`), as an operator would run it. */
import { spawn, type ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import type { HelperContext } from './programs.js'

export interface GatewayProcess {
  child: ChildProcess
  /** Everything written to stdout and stderr so far. */
  output(): string
  /** Waits until `re` has matched `count` times in the output. */
  waitFor(re: RegExp, count?: number, timeoutMs?: number): Promise<void>
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>
}

/** `nodeArgs` go before the script, e.g. `['--import', './test/support/busy-loop.mjs']`. */
export function spawnGateway(
  t: Pick<HelperContext, 'after'>,
  env: Record<string, string>,
  opts: { nodeArgs?: string[] } = {}
): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ...(opts.nodeArgs ?? []), 'src/server.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      JOBS_ENABLED: 'false',
      ...env
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout?.on('data', (d) => (out += d))
  child.stderr?.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return {
    child,
    output: () => out,
    async waitFor(re, count = 1, timeoutMs = 30_000) {
      const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)
      const end = Date.now() + timeoutMs
      while ((out.match(g)?.length ?? 0) < count) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re} ×${count}; output:\n${out.slice(-3000)}`)
        if (child.exitCode !== null)
          throw new Error(`gateway exited (${child.exitCode}) before ${re}; output:\n${out.slice(-3000)}`)
        await sleep(50)
      }
    },
    async stop() {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      return exited
    }
  }
}
