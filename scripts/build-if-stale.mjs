#!/usr/bin/env node
// `npm start`'s prestart: builds only when a build input is newer than the last build (issue 13:
// a rebuild on every start cost 12–26 s before the first answer). Files and directories count,
// so a deleted or renamed source file (which changes its directory's mtime) also rebuilds.
// Usage: node scripts/build-if-stale.mjs [--check]   (--check: exit 1 when stale, build nothing)
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ADMIN_INPUTS } from './build-admin.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Everything a build reads, relative to the repository root. Add a folder here when a build step
 * grows (for example a dashboard bundle), and its command to `npm run build`.
 */
export const BUILD_INPUTS = [
  'src',
  'tsconfig.json',
  'tsconfig.build.json',
  'package.json',
  'package-lock.json',
  ...ADMIN_INPUTS
]
/** Written after a successful build; its mtime is the build's time. */
export const STAMP = 'dist/.build-stamp'

/** The newest mtime (ms) under the given paths; missing paths count as 0. */
export function newestMtime(paths, base = root) {
  let newest = 0
  const walk = (p) => {
    let st
    try {
      st = statSync(p)
    } catch {
      return
    }
    newest = Math.max(newest, st.mtimeMs)
    if (st.isDirectory()) for (const entry of readdirSync(p)) walk(path.join(p, entry))
  }
  for (const p of paths) walk(path.resolve(base, p))
  return newest
}

/** Why a build is needed, or null when the last one is current. */
export function staleReason(base = root) {
  const stamp = path.join(base, STAMP)
  if (!existsSync(stamp)) return 'no previous build'
  const built = statSync(stamp).mtimeMs
  const newest = newestMtime(BUILD_INPUTS, base)
  return newest > built ? `sources changed since the last build (${new Date(built).toISOString()})` : null
}

const isMain = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  const reason = staleReason()
  if (process.argv.includes('--check')) {
    console.log(reason === null ? 'build is current' : `build is stale: ${reason}`)
    process.exit(reason === null ? 0 : 1)
  }
  if (reason === null) {
    console.error('build is current (dist/); skipping the TypeScript build')
  } else {
    console.error(`building (${reason})…`)
    const started = Date.now()
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const r = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' })
    if (r.status !== 0) process.exit(r.status ?? 1)
    mkdirSync(path.join(root, 'dist'), { recursive: true })
    writeFileSync(path.join(root, STAMP), `${new Date().toISOString()}\n`)
    console.error(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
}
