/**
 * Serves the operator dashboard (issue 18) at ADMIN_UI_PATH (default /admin): the page and its
 * bundled assets from dist/admin, built by `npm run build` (scripts/build-admin.mjs). Only the
 * files the build's manifest lists are served, from memory, so no request path ever reaches the
 * file system. The page gets its own strict CSP (no inline script or style, `connect-src 'self'`);
 * it talks to the same public API with the operator's bearer token, so it holds no privilege of its own.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { LucidError } from '../errors.js'
import { ADMIN_CSP } from './http-hygiene.js'

export interface AdminUiOptions {
  enabled: boolean
  /** Mount path without trailing slash, e.g. "/admin". */
  path: string
  /** Where the built bundle lives (default: dist/admin of this package). */
  dir?: string
}

interface Asset {
  body: Buffer
  type: string
  etag: string
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}

/** dist/admin of this package, from src/plugins (tsx) and dist/plugins (built) alike. */
export const DEFAULT_ADMIN_DIR = fileURLToPath(new URL('../../dist/admin/', import.meta.url))

function load(dir: string, base: string): { index: Asset; assets: Map<string, Asset> } | null {
  let files: string[]
  try {
    files = (JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { files: string[] }).files
  } catch {
    return null
  }
  const asset = (body: Buffer, name: string): Asset => ({
    body,
    type: TYPES[path.extname(name)] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`
  })
  const assets = new Map<string, Asset>()
  for (const f of files) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(f) || f === 'index.html') continue
    assets.set(f, asset(readFileSync(path.join(dir, f)), f))
  }
  // The page names its assets under the configured mount path.
  const html = readFileSync(path.join(dir, 'index.html'), 'utf8').replaceAll('%BASE%', base)
  return { index: asset(Buffer.from(html), 'index.html'), assets }
}

export default async function adminUi(app: FastifyInstance, opts: AdminUiOptions): Promise<void> {
  if (!opts.enabled) return
  const bundle = load(opts.dir ?? DEFAULT_ADMIN_DIR, opts.path)
  const dir = opts.dir ?? DEFAULT_ADMIN_DIR
  if (bundle === null) app.log.warn({ dir }, 'operator dashboard not built (npm run build); its page answers 503')
  const schema = { hide: true }

  const send = (asset: Asset | undefined, ifNoneMatch: string | undefined, cache: string) => {
    if (bundle === null) throw new LucidError('SERVICE_UNAVAILABLE', 'Dashboard not built here: run npm run build')
    if (asset === undefined) throw new LucidError('NOT_FOUND', 'No such dashboard asset')
    return { asset, notModified: ifNoneMatch === asset.etag, cache }
  }

  app.get(opts.path, { schema }, async (request, reply) => {
    const r = send(bundle?.index, request.headers['if-none-match'], 'no-cache')
    reply.header('content-security-policy', ADMIN_CSP).header('cache-control', r.cache).header('etag', r.asset.etag)
    if (r.notModified) return reply.code(304).send()
    return reply.type(r.asset.type).send(r.asset.body)
  })

  app.get(`${opts.path}/assets/:file`, { schema }, async (request, reply) => {
    const { file } = request.params as { file: string }
    const r = send(bundle?.assets.get(file), request.headers['if-none-match'], 'no-cache')
    reply.header('content-security-policy', ADMIN_CSP).header('cache-control', r.cache).header('etag', r.asset.etag)
    if (r.notModified) return reply.code(304).send()
    return reply.type(r.asset.type).send(r.asset.body)
  })
}
