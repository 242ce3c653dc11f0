/**
 * Checks the deployment files without a cluster or a Docker engine (issue 8):
 *  - Kubernetes: renders each Kustomization (resources, namespace, labels, images, JSON 6902
 *    patches), validates every object against the Kubernetes schemas (kubernetes-models) and
 *    cross-checks references (ConfigMaps, PVCs, Services, selectors) plus our security policy.
 *  - Compose: every referenced service, volume and network is defined; images are pinned.
 *  - Dockerfile: pinned base images, USER set to non-root in the final stage, no ADD from a URL,
 *    a HEALTHCHECK without curl.
 *  - Prometheus dashboard/alerts: metric names used exist in a given /metrics exposition.
 * There is no npm kustomize; the subset rendered here is the subset our manifests use, and an
 * unsupported field is reported rather than ignored.
 */
import { readFile, stat } from 'node:fs/promises'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import jsonpatch from 'fast-json-patch'
import { DockerfileParser } from 'dockerfile-ast'

export interface Problem {
  file: string
  message: string
}

type K8sObject = {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }
  [k: string]: unknown
}
type Json = Record<string, unknown>

export async function parseYamlFile(file: string, problems: Problem[]): Promise<unknown[]> {
  const text = await readFile(file, 'utf8')
  const out: unknown[] = []
  for (const doc of parseAllDocuments(text)) {
    for (const e of doc.errors) problems.push({ file, message: `YAML: ${e.message.split('\n')[0]}` })
    if (doc.errors.length === 0 && doc.contents !== null) out.push(doc.toJS())
  }
  return out
}

// ---------------------------------------------------------------------------------- Kubernetes

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'PersistentVolume',
  'StorageClass',
  'CustomResourceDefinition'
])

async function modelFor(
  apiVersion: string,
  kind: string
): Promise<(new (o: unknown) => { validate(): void }) | undefined> {
  if (!/^[A-Za-z0-9.]+(\/[a-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return undefined
  const modPath = apiVersion.includes('/')
    ? `kubernetes-models/${apiVersion}/${kind}`
    : `kubernetes-models/${apiVersion}/${kind}`
  try {
    const mod = (await import(modPath)) as Record<string, new (o: unknown) => { validate(): void }>
    return mod[kind]
  } catch {
    return undefined
  }
}

/** Schema validation of one object. */
export async function validateObject(obj: K8sObject, file: string): Promise<Problem[]> {
  const where = `${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}`
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string')
    return [{ file, message: `${where}: apiVersion and kind are required` }]
  if (typeof obj.metadata?.name !== 'string') return [{ file, message: `${where}: metadata.name is required` }]
  const Model = await modelFor(obj.apiVersion, obj.kind)
  if (Model === undefined) return [{ file, message: `${where}: unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}` }]
  try {
    new Model(obj).validate()
    return []
  } catch (err) {
    return [{ file, message: `${where}: ${(err as Error).message.split('\n').slice(0, 3).join('; ')}` }]
  }
}

function podSpecOf(obj: K8sObject): Json | undefined {
  return ((obj.spec as Json | undefined)?.template as Json | undefined)?.spec as Json | undefined
}

/** Our policy on top of the schema: what every gateway workload must have. */
export function policyProblems(obj: K8sObject, file: string): Problem[] {
  const out: Problem[] = []
  const where = `${obj.kind}/${obj.metadata?.name}`
  if (obj.kind === 'Deployment') {
    const pod = podSpecOf(obj) ?? {}
    const psc = (pod.securityContext ?? {}) as Json
    if (psc.runAsNonRoot !== true)
      out.push({ file, message: `${where}: pod securityContext.runAsNonRoot must be true` })
    for (const c of (pod.containers ?? []) as Json[]) {
      const name = `${where} container ${String(c.name)}`
      const sc = (c.securityContext ?? {}) as Json
      if (sc.readOnlyRootFilesystem !== true)
        out.push({ file, message: `${name}: readOnlyRootFilesystem must be true` })
      if (sc.allowPrivilegeEscalation !== false)
        out.push({ file, message: `${name}: allowPrivilegeEscalation must be false` })
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'])
        if (c[probe] === undefined) out.push({ file, message: `${name}: ${probe} is missing` })
      const res = (c.resources ?? {}) as Json
      if (res.requests === undefined || (res.limits as Json | undefined)?.memory === undefined)
        out.push({ file, message: `${name}: resources.requests and a memory limit are required` })
      const image = String(c.image ?? '')
      if (!/:[^/]+$/.test(image) && !image.includes('@sha256:'))
        out.push({ file, message: `${name}: image "${image}" has no tag` })
      if (/:latest$/.test(image)) out.push({ file, message: `${name}: image "${image}" uses :latest` })
    }
  }
  return out
}

interface Kustomization {
  resources?: string[]
  namespace?: string
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[]
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[]
  patches?: { target: { kind?: string; name?: string }; patch?: string; path?: string }[]
  [k: string]: unknown
}

const KUSTOMIZE_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images', 'patches'])

function setSelectorLabels(obj: K8sObject, pairs: Record<string, string>): void {
  const spec = obj.spec as Json | undefined
  if (spec === undefined) return
  if (obj.kind === 'Service') spec.selector = { ...(spec.selector as Json), ...pairs }
  if (obj.kind === 'Deployment' || obj.kind === 'StatefulSet' || obj.kind === 'PodDisruptionBudget') {
    const sel = (spec.selector ?? {}) as Json
    sel.matchLabels = { ...(sel.matchLabels as Json), ...pairs }
    spec.selector = sel
  }
  if (obj.kind === 'Deployment' || obj.kind === 'StatefulSet') {
    const tpl = (spec.template ?? {}) as Json
    const md = (tpl.metadata ?? {}) as Json
    md.labels = { ...(md.labels as Json), ...pairs }
    tpl.metadata = md
  }
}

/** Renders a Kustomization directory into objects (the subset of kustomize our manifests use). */
export async function renderKustomization(
  dir: string,
  problems: Problem[]
): Promise<{ objects: K8sObject[]; files: Map<K8sObject, string> }> {
  const file = path.join(dir, 'kustomization.yaml')
  const [k] = (await parseYamlFile(file, problems)) as Kustomization[]
  const objects: K8sObject[] = []
  const files = new Map<K8sObject, string>()
  if (k === undefined) {
    problems.push({ file, message: 'empty kustomization' })
    return { objects, files }
  }
  for (const key of Object.keys(k))
    if (!KUSTOMIZE_FIELDS.has(key))
      problems.push({ file, message: `kustomization field "${key}" is not supported by this checker` })
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r)
    const st = await stat(p).catch(() => undefined)
    if (st === undefined) {
      problems.push({ file, message: `resource "${r}" does not exist` })
      continue
    }
    if (st.isDirectory()) {
      const sub = await renderKustomization(p, problems)
      for (const o of sub.objects) {
        objects.push(o)
        files.set(o, sub.files.get(o) as string)
      }
    } else {
      for (const o of (await parseYamlFile(p, problems)) as K8sObject[]) {
        objects.push(o)
        files.set(o, p)
      }
    }
  }
  for (const o of objects) {
    if (k.namespace !== undefined && !CLUSTER_SCOPED.has(o.kind ?? ''))
      o.metadata = { ...o.metadata, namespace: k.namespace }
    for (const l of k.labels ?? []) {
      o.metadata = { ...o.metadata, labels: { ...o.metadata?.labels, ...l.pairs } }
      if (l.includeSelectors === true) setSelectorLabels(o, l.pairs)
    }
    for (const img of k.images ?? []) {
      for (const c of (podSpecOf(o)?.containers ?? []) as Json[]) {
        const [name] = String(c.image).split(/[:@]/)
        if (name !== img.name) continue
        c.image = `${img.newName ?? img.name}${img.digest !== undefined ? `@${img.digest}` : `:${img.newTag ?? String(c.image).split(':')[1]}`}`
      }
    }
  }
  for (const [i, p] of (k.patches ?? []).entries()) {
    const targets = objects.filter(
      (o) =>
        (p.target.kind === undefined || o.kind === p.target.kind) &&
        (p.target.name === undefined || o.metadata?.name === p.target.name)
    )
    if (targets.length === 0) {
      problems.push({ file, message: `patches[${i}] matches no resource (${p.target.kind}/${p.target.name})` })
      continue
    }
    if (p.patch === undefined) {
      problems.push({ file, message: `patches[${i}]: only inline JSON 6902 patches are supported` })
      continue
    }
    const ops = (await parseInline(p.patch, file, problems)) as jsonpatch.Operation[]
    for (const t of targets) {
      try {
        jsonpatch.applyPatch(t, ops, true, true)
      } catch (err) {
        problems.push({
          file,
          message: `patches[${i}] on ${t.kind}/${t.metadata?.name}: ${(err as Error).message.split('\n')[0]}`
        })
      }
    }
  }
  return { objects, files }
}

async function parseInline(text: string, file: string, problems: Problem[]): Promise<unknown> {
  const docs = parseAllDocuments(text)
  for (const d of docs)
    for (const e of d.errors) problems.push({ file, message: `patch YAML: ${e.message.split('\n')[0]}` })
  return docs[0]?.toJS() ?? []
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined && Object.entries(selector).every(([k, v]) => labels?.[k] === v)

/** References between rendered objects that a cluster would only reveal at run time. */
export function referenceProblems(objects: K8sObject[], files: Map<K8sObject, string>): Problem[] {
  const out: Problem[] = []
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind)
  const names = (kind: string) => new Set(byKind(kind).map((o) => o.metadata?.name))
  const deployments = byKind('Deployment')
  for (const d of deployments) {
    const file = files.get(d) as string
    const pod = podSpecOf(d) ?? {}
    for (const c of (pod.containers ?? []) as Json[]) {
      for (const ef of (c.envFrom ?? []) as Json[]) {
        const cm = (ef.configMapRef as Json | undefined)?.name
        if (cm !== undefined && !names('ConfigMap').has(cm as string))
          out.push({ file, message: `Deployment/${d.metadata?.name}: ConfigMap "${String(cm)}" is not defined` })
      }
      const ports = new Set(((c.ports ?? []) as Json[]).map((p) => p.name))
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const port = ((c[probe] as Json | undefined)?.httpGet as Json | undefined)?.port
        if (typeof port === 'string' && !ports.has(port))
          out.push({ file, message: `Deployment/${d.metadata?.name}: ${probe} uses undefined port name "${port}"` })
      }
      const mounts = new Set(((pod.volumes ?? []) as Json[]).map((v) => v.name))
      for (const m of (c.volumeMounts ?? []) as Json[])
        if (!mounts.has(m.name))
          out.push({ file, message: `Deployment/${d.metadata?.name}: volumeMount "${String(m.name)}" has no volume` })
    }
    for (const v of (pod.volumes ?? []) as Json[]) {
      const claim = (v.persistentVolumeClaim as Json | undefined)?.claimName
      if (claim !== undefined && !names('PersistentVolumeClaim').has(claim as string))
        out.push({
          file,
          message: `Deployment/${d.metadata?.name}: PersistentVolumeClaim "${String(claim)}" is not defined`
        })
    }
  }
  const podLabels = deployments.map(
    (d) =>
      ((podSpecOf(d) === undefined ? undefined : ((d.spec as Json).template as Json).metadata) as Json | undefined)
        ?.labels as Record<string, string> | undefined
  )
  for (const s of byKind('Service')) {
    const sel = (s.spec as Json | undefined)?.selector as Record<string, string> | undefined
    if (!podLabels.some((l) => matches(sel, l)))
      out.push({
        file: files.get(s) as string,
        message: `Service/${s.metadata?.name}: selector matches no Deployment's pods`
      })
  }
  for (const p of byKind('PodDisruptionBudget')) {
    const sel = ((p.spec as Json | undefined)?.selector as Json | undefined)?.matchLabels as
      Record<string, string> | undefined
    if (!podLabels.some((l) => matches(sel, l)))
      out.push({
        file: files.get(p) as string,
        message: `PodDisruptionBudget/${p.metadata?.name}: selector matches no Deployment's pods`
      })
  }
  for (const h of byKind('HorizontalPodAutoscaler')) {
    const ref = (h.spec as Json | undefined)?.scaleTargetRef as Json | undefined
    if (!objects.some((o) => o.kind === ref?.kind && o.metadata?.name === ref?.name))
      out.push({
        file: files.get(h) as string,
        message: `HorizontalPodAutoscaler/${h.metadata?.name}: scale target ${String(ref?.kind)}/${String(ref?.name)} is not defined`
      })
  }
  for (const ing of byKind('Ingress')) {
    for (const rule of ((ing.spec as Json | undefined)?.rules ?? []) as Json[]) {
      for (const p of ((rule.http as Json | undefined)?.paths ?? []) as Json[]) {
        const svc = (p.backend as Json | undefined)?.service as Json | undefined
        const target = byKind('Service').find((s) => s.metadata?.name === svc?.name)
        if (target === undefined) {
          out.push({
            file: files.get(ing) as string,
            message: `Ingress/${ing.metadata?.name}: backend Service "${String(svc?.name)}" is not defined`
          })
          continue
        }
        const portName = (svc?.port as Json | undefined)?.name
        if (
          portName !== undefined &&
          !(((target.spec as Json).ports ?? []) as Json[]).some((sp) => sp.name === portName)
        )
          out.push({
            file: files.get(ing) as string,
            message: `Ingress/${ing.metadata?.name}: Service "${String(svc?.name)}" has no port "${String(portName)}"`
          })
      }
    }
  }
  for (const np of byKind('NetworkPolicy')) {
    const sel = ((np.spec as Json | undefined)?.podSelector as Json | undefined)?.matchLabels as
      Record<string, string> | undefined
    if (!podLabels.some((l) => matches(sel, l)))
      out.push({
        file: files.get(np) as string,
        message: `NetworkPolicy/${np.metadata?.name}: podSelector matches no Deployment's pods`
      })
  }
  return out
}

export async function checkKustomization(dir: string): Promise<{ problems: Problem[]; objects: K8sObject[] }> {
  const problems: Problem[] = []
  const { objects, files } = await renderKustomization(dir, problems)
  for (const o of objects) {
    const file = files.get(o) as string
    problems.push(...(await validateObject(o, file)), ...policyProblems(o, file))
  }
  problems.push(...referenceProblems(objects, files))
  return { problems, objects }
}

/** A standalone manifest (e.g. the Secret template): schema only. */
export async function checkManifestFile(file: string): Promise<Problem[]> {
  const problems: Problem[] = []
  for (const o of (await parseYamlFile(file, problems)) as K8sObject[])
    problems.push(...(await validateObject(o, file)))
  return problems
}

// ------------------------------------------------------------------------------------- Compose

interface ComposeFile {
  services?: Record<string, Json>
  volumes?: Record<string, unknown>
  networks?: Record<string, unknown>
}

/** Checks one Compose file, or several merged in order (`-f a -f b`). */
export async function checkCompose(files: string[]): Promise<Problem[]> {
  const problems: Problem[] = []
  const merged: Required<ComposeFile> = { services: {}, volumes: {}, networks: {} }
  const origin = new Map<string, string>()
  for (const f of files) {
    const [doc] = (await parseYamlFile(f, problems)) as ComposeFile[]
    if (doc === undefined) continue
    for (const [name, svc] of Object.entries(doc.services ?? {})) {
      merged.services[name] = { ...merged.services[name], ...svc }
      origin.set(name, f)
    }
    Object.assign(merged.volumes, doc.volumes ?? {})
    Object.assign(merged.networks, doc.networks ?? {})
  }
  const last = files[files.length - 1]
  for (const [name, svc] of Object.entries(merged.services)) {
    const file = origin.get(name) ?? last
    if (svc.image === undefined && svc.build === undefined)
      problems.push({ file, message: `service "${name}": needs image or build` })
    if (typeof svc.image === 'string' && (!/:[^/]+$/.test(svc.image) || /:latest$/.test(svc.image)))
      problems.push({ file, message: `service "${name}": image "${svc.image}" is not pinned to a version` })
    const deps = Array.isArray(svc.depends_on)
      ? (svc.depends_on as string[])
      : Object.keys((svc.depends_on ?? {}) as Json)
    for (const d of deps)
      if (merged.services[d] === undefined)
        problems.push({ file, message: `service "${name}": depends_on "${d}", which is not defined` })
    for (const v of (svc.volumes ?? []) as (string | Json)[]) {
      const source = typeof v === 'string' ? v.split(':')[0] : String(v.source ?? '')
      const isPath = source.startsWith('.') || source.startsWith('/') || source.startsWith('~')
      if (!isPath && source !== '' && !(source in merged.volumes))
        problems.push({ file, message: `service "${name}": volume "${source}" is not defined under volumes` })
    }
    const nets = Array.isArray(svc.networks) ? (svc.networks as string[]) : Object.keys((svc.networks ?? {}) as Json)
    for (const n of nets)
      if (!(n in merged.networks))
        problems.push({ file, message: `service "${name}": network "${n}" is not defined under networks` })
    if (svc.healthcheck === undefined && svc.build !== undefined)
      problems.push({ file, message: `service "${name}": no healthcheck` })
  }
  return problems
}

// ---------------------------------------------------------------------------------- Dockerfile

export function lintDockerfile(text: string, file = 'Dockerfile'): Problem[] {
  const problems: Problem[] = []
  const d = DockerfileParser.parse(text)
  const froms = d.getFROMs()
  if (froms.length === 0) return [{ file, message: 'no FROM instruction' }]
  const stages = new Set<string>()
  for (const f of froms) {
    const image = f.getImageName() ?? ''
    const line = f.getRange().start.line + 1
    if (stages.has(image)) {
      // FROM <earlier stage>: nothing to pin.
    } else {
      const tag = f.getImageTag()
      const digest = f.getImageDigest()
      if (digest === null && (tag === null || tag === 'latest'))
        problems.push({
          file,
          message: `line ${line}: base image "${image}" is not pinned (give a version tag or a digest)`
        })
      else if (digest === null && tag !== null && !/\d/.test(tag))
        problems.push({ file, message: `line ${line}: base image tag "${tag}" is rolling; pin a version or a digest` })
    }
    const stage = f.getBuildStage()
    if (stage !== null) stages.add(stage)
  }
  const finalStart = froms[froms.length - 1].getRange().start.line
  const finalInstructions = d.getInstructions().filter((i) => i.getRange().start.line >= finalStart)
  const users = finalInstructions.filter((i) => i.getKeyword() === 'USER')
  if (users.length === 0)
    problems.push({ file, message: 'the final stage has no USER: the container would run as root' })
  else {
    const user = (users[users.length - 1].getArgumentsContent() ?? '').trim().split(':')[0]
    if (user === 'root' || user === '0') problems.push({ file, message: 'the final stage runs as root' })
  }
  for (const i of d.getInstructions()) {
    const line = i.getRange().start.line + 1
    if (i.getKeyword() === 'ADD' && /\bhttps?:\/\//i.test(i.getArgumentsContent() ?? ''))
      problems.push({
        file,
        message: `line ${line}: ADD from a URL (download in a build stage and verify a checksum instead)`
      })
  }
  const hc = finalInstructions.find((i) => i.getKeyword() === 'HEALTHCHECK')
  if (hc === undefined) problems.push({ file, message: 'the final stage has no HEALTHCHECK' })
  else if (/\b(curl|wget)\b/.test(hc.getArgumentsContent() ?? ''))
    problems.push({ file, message: 'HEALTHCHECK uses curl/wget, which a distroless image does not have' })
  return problems
}

// ---------------------------------------------------------------------------------- Prometheus

const PROMQL_WORDS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'rate',
  'irate',
  'increase',
  'delta',
  'idelta',
  'deriv',
  'histogram_quantile',
  'clamp_min',
  'clamp_max',
  'clamp',
  'abs',
  'ceil',
  'floor',
  'round',
  'time',
  'vector',
  'scalar',
  'label_replace',
  'label_join',
  'avg_over_time',
  'max_over_time',
  'min_over_time',
  'sum_over_time',
  'count_over_time',
  'absent',
  'absent_over_time',
  'changes',
  'resets',
  'e',
  'inf',
  'nan'
])
/** Series Prometheus makes itself, not the gateway. */
const SYNTHETIC = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped'])

/** Metric names an expression reads (labels, strings, ranges, functions and keywords removed). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '')
    .replace(/\$\{?\w+\}?/g, '')
  const names = new Set<string>()
  for (const m of stripped.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const n = m[1]
    if (!PROMQL_WORDS.has(n.toLowerCase()) && !SYNTHETIC.has(n)) names.add(n)
  }
  return [...names]
}

/**
 * Names a Prometheus text exposition declares (`# TYPE` lines, so a labelled counter that has not
 * counted anything yet still counts), with the _bucket/_sum/_count series of histograms and summaries.
 */
export function exposedNames(exposition: string): Set<string> {
  const out = new Set<string>()
  for (const line of exposition.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)/.exec(line)
    if (m !== null) {
      out.add(m[1])
      if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(m[1] + s)
      if (m[2] === 'summary') for (const s of ['_sum', '_count']) out.add(m[1] + s)
    } else if (line !== '' && !line.startsWith('#')) {
      out.add(line.split(/[{ ]/, 1)[0])
    }
  }
  return out
}

export function dashboardExpressions(dashboard: {
  panels?: { title?: string; targets?: { expr?: string }[] }[]
}): { panel: string; expr: string }[] {
  return (dashboard.panels ?? []).flatMap((p) =>
    (p.targets ?? [])
      .filter((t) => typeof t.expr === 'string')
      .map((t) => ({ panel: p.title ?? '?', expr: t.expr as string }))
  )
}

export async function alertExpressions(file: string): Promise<{ panel: string; expr: string }[]> {
  const problems: Problem[] = []
  const [doc] = (await parseYamlFile(file, problems)) as {
    groups?: { rules?: { alert?: string; record?: string; expr?: string }[] }[]
  }[]
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '))
  return (doc?.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((r) => ({ panel: r.alert ?? r.record ?? '?', expr: String(r.expr) }))
  )
}

export function unknownMetrics(
  exprs: { panel: string; expr: string }[],
  exposed: Set<string>,
  file: string
): Problem[] {
  const out: Problem[] = []
  for (const { panel, expr } of exprs)
    for (const n of metricNames(expr))
      if (!exposed.has(n)) out.push({ file, message: `"${panel}": metric ${n} is not exported by the gateway` })
  return out
}
