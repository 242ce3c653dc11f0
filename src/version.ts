import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** The gateway's release version, from package.json. */
export const GATEWAY_VERSION: string = pkg.version
/** When this process started; reported as build_date when no BUILD_DATE was baked into the image. */
export const BUILD_DATE: string = process.env.BUILD_DATE ?? new Date().toISOString()
