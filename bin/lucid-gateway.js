#!/usr/bin/env node
// The CLI entry (`npx lucid-gateway <command>`). A built install (the container, `npm run build`)
// runs dist/; a clone without a build runs the TypeScript sources through tsx.
import { existsSync } from 'node:fs'

const dist = new URL('../dist/cli/main.js', import.meta.url)
const src = new URL('../src/cli/main.ts', import.meta.url)
let cli
if (existsSync(src) && process.env.LUCID_CLI_USE_DIST !== 'true') {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import(src.href)
} else if (existsSync(dist)) {
  cli = await import(dist.href)
} else {
  console.error('lucid-gateway: not built; run `npm run build` first')
  process.exit(1)
}
cli.run()
