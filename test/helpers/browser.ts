/**
 * Real headless Chromium for UI tests (issue 18): the machine's /usr/bin/chromium driven by
 * playwright-core (never a downloaded browser), on a fresh empty profile, with the flags for a
 * closed network (no QUIC, no background or component updates, no sync).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import { chromium, type BrowserContext } from 'playwright-core'
import { findProgram } from './programs.js'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export interface Browser {
  context: BrowserContext
  close(): Promise<void>
}

/** A browser with its own new profile directory; null (test skipped) when chromium is missing outside CI. */
export async function launchBrowser(t: TestContext, viewport = { width: 1280, height: 900 }): Promise<Browser | null> {
  const executablePath = findProgram('chromium', t)
  if (executablePath === null) return null
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'lucid-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    timeout: 60_000
  })
  return {
    context,
    async close() {
      await context.close().catch(() => undefined)
      await rm(userDataDir, { recursive: true, force: true })
    }
  }
}
