#!/usr/bin/env node
// Bundles the operator dashboard (web/admin, issue 18) into dist/admin with esbuild: one script,
// one stylesheet (uPlot's included), the page, and a manifest that lists exactly the files the
// gateway may serve plus a hash of the inputs, so tests and `npm start` can tell a stale bundle.
// Each file is written to a temporary name and renamed, so a concurrent build or a gateway reading
// the directory never sees half a file.
import { createHash } from 'node:crypto'
import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** Everything the bundle is made from; scripts/build-if-stale.mjs (issue 13) may list it too. */
export const ADMIN_INPUTS = ['web/admin', 'node_modules/uplot/package.json', 'scripts/build-admin.mjs']
export const ADMIN_OUT = path.join(root, 'dist', 'admin')

async function files(p) {
  const abs = path.join(root, p)
  const entries = await readdir(abs, { withFileTypes: true }).catch(() => null)
  if (entries === null) return [p]
  const out = []
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name === 'node_modules') continue
    out.push(...(e.isDirectory() ? await files(path.join(p, e.name)) : [path.join(p, e.name)]))
  }
  return out
}

/** SHA-256 over the names and contents of every input file. */
export async function adminInputsHash() {
  const h = createHash('sha256')
  for (const input of ADMIN_INPUTS) {
    for (const f of await files(input)) {
      h.update(f)
      h.update(await readFile(path.join(root, f)).catch(() => Buffer.alloc(0)))
    }
  }
  return h.digest('hex')
}

/** True when dist/admin is missing or was built from other inputs. */
export async function adminBundleStale() {
  try {
    const manifest = JSON.parse(await readFile(path.join(ADMIN_OUT, 'manifest.json'), 'utf8'))
    return manifest.inputs_sha256 !== (await adminInputsHash())
  } catch {
    return true
  }
}

async function put(name, data) {
  const tmp = path.join(ADMIN_OUT, `.${name}.${process.pid}.tmp`)
  await writeFile(tmp, data)
  await rename(tmp, path.join(ADMIN_OUT, name))
}

export async function buildAdmin() {
  const { build } = await import('esbuild')
  const started = performance.now()
  const inputs = await adminInputsHash()
  const common = { bundle: true, minify: true, write: false, logLevel: 'warning', absWorkingDir: root }
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: ['web/admin/src/main.ts'], format: 'esm', target: 'es2022', outfile: 'app.js' }),
    build({ ...common, entryPoints: ['web/admin/styles.css'], outfile: 'app.css' })
  ])
  await mkdir(ADMIN_OUT, { recursive: true })
  await put('app.js', js.outputFiles[0].contents)
  await put('app.css', css.outputFiles[0].contents)
  await put('favicon.svg', await readFile(path.join(root, 'web/admin/favicon.svg')))
  await put('index.html', await readFile(path.join(root, 'web/admin/index.html')))
  // Written last: a manifest names only files already in place.
  const files = ['index.html', 'app.js', 'app.css', 'favicon.svg']
  const manifest = { files, inputs_sha256: inputs, built_at: new Date().toISOString() }
  await put('manifest.json', JSON.stringify(manifest, null, 2))
  const bytes = js.outputFiles[0].contents.length + css.outputFiles[0].contents.length
  return { ms: Math.round(performance.now() - started), bytes }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await buildAdmin()
  console.log(`dashboard built into dist/admin (${Math.round(r.bytes / 1024)} KiB in ${r.ms} ms)`)
}
