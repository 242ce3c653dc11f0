import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { request } from 'undici'
import {
  alertExpressions,
  checkCompose,
  checkKustomization,
  checkManifestFile,
  dashboardExpressions,
  exposedNames,
  lintDockerfile,
  metricNames,
  unknownMetrics
} from '../../scripts/deploy-check/check.js'
import { findProgram } from '../helpers/programs.js'
import { freePort } from '../helpers/throwaway.js'
import { spawnGateway } from '../helpers/gateway-process.js'

const run = promisify(execFile)
const messages = (ps: { message: string }[]) => ps.map((p) => p.message).join('\n')

async function tempCopy(src: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lucid-deploy-'))
  await cp(src, dir, { recursive: true })
  return dir
}

async function edit(file: string, from: string | RegExp, to: string): Promise<void> {
  const text = await readFile(file, 'utf8')
  const next = text.replace(from, to)
  assert.notEqual(next, text, `edit of ${file} changed nothing`)
  await writeFile(file, next)
}

describe('Kubernetes manifests', () => {
  test('base and production overlay render, validate against the schemas, and cross-reference', async () => {
    for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/production']) {
      const r = await checkKustomization(dir)
      assert.deepEqual(r.problems, [], `${dir}:\n${messages(r.problems)}`)
      const kinds = r.objects.map((o) => o.kind).sort()
      assert.deepEqual(kinds, [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'NetworkPolicy',
        'PersistentVolumeClaim',
        'PodDisruptionBudget',
        'Service',
        'Service',
        'ServiceAccount'
      ])
    }
    const prod = await checkKustomization('deploy/k8s/overlays/production')
    const dep = prod.objects.find((o) => o.kind === 'Deployment') as {
      metadata: { namespace: string }
      spec: {
        replicas: number
        template: { spec: { containers: { image: string; resources: { limits: { memory: string } } }[] } }
      }
    }
    assert.equal(dep.metadata.namespace, 'lucid')
    assert.equal(dep.spec.replicas, 3)
    assert.equal(dep.spec.template.spec.containers[0].image, 'registry.lucid.example/lucid/api-gateway:0.1.0')
    assert.equal(dep.spec.template.spec.containers[0].resources.limits.memory, '768Mi', 'the overlay patch applied')
    const pvc = prod.objects.find((o) => o.kind === 'PersistentVolumeClaim') as {
      spec: { accessModes: string[]; storageClassName: string }
    }
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany'])
    assert.deepEqual(await checkManifestFile('deploy/k8s/base/secret.template.yaml'), [])
  })

  test('the checker catches a deliberately broken manifest', async () => {
    const dir = await tempCopy('deploy/k8s')
    try {
      const base = path.join(dir, 'base')
      await edit(path.join(base, 'deployment.yaml'), 'containerPort: 8080', 'containerPort: eighty')
      await edit(path.join(base, 'deployment.yaml'), 'readinessProbe:', 'readinessProbeTypo:')
      await edit(path.join(base, 'deployment.yaml'), 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false')
      await edit(
        path.join(base, 'service.yaml'),
        'app.kubernetes.io/component: api-gateway',
        'app.kubernetes.io/component: api-gateway-typo'
      )
      await edit(
        path.join(base, 'hpa.yaml'),
        'name: lucid-gateway\n  minReplicas',
        'name: lucid-gateway-missing\n  minReplicas'
      )
      const r = await checkKustomization(base)
      const text = messages(r.problems)
      assert.match(text, /Deployment\/lucid-gateway: .*containerPort must be integer/)
      assert.match(text, /readinessProbe is missing/)
      assert.match(text, /readOnlyRootFilesystem must be true/)
      assert.match(text, /Service\/lucid-gateway: selector matches no Deployment's pods/)
      assert.match(text, /scale target Deployment\/lucid-gateway-missing is not defined/)

      await edit(
        path.join(dir, 'overlays/production/kustomization.yaml'),
        'path: /spec/maxReplicas',
        'path: /spec/nothing/here'
      )
      await edit(
        path.join(dir, 'overlays/production/kustomization.yaml'),
        '  - ../../base',
        '  - ../../base\n  - missing.yaml'
      )
      const o = await checkKustomization(path.join(dir, 'overlays/production'))
      assert.match(messages(o.problems), /resource "missing.yaml" does not exist/)
      assert.match(messages(o.problems), /patches\[3\] on HorizontalPodAutoscaler\/lucid-gateway/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('Compose and Dockerfile', () => {
  test('compose files reference only defined services, volumes and networks', async () => {
    assert.deepEqual(await checkCompose(['deploy/docker-compose.yml']), [])
    assert.deepEqual(await checkCompose(['deploy/docker-compose.yml', 'deploy/docker-compose.dev.yml']), [])
    const dir = await mkdtemp(path.join(tmpdir(), 'lucid-compose-'))
    try {
      const broken = (await readFile('deploy/docker-compose.yml', 'utf8'))
        .replace('condition: service_healthy\n      redis:', 'condition: service_healthy\n      rediz:')
        .replace('- redis-data:/data', '- redis-dta:/data')
        .replace('image: postgres:16.6-alpine', 'image: postgres:latest')
      await writeFile(path.join(dir, 'docker-compose.yml'), broken)
      const text = messages(await checkCompose([path.join(dir, 'docker-compose.yml')]))
      assert.match(text, /service "gateway": depends_on "rediz", which is not defined/)
      assert.match(text, /service "redis": volume "redis-dta" is not defined/)
      assert.match(text, /service "postgres": image "postgres:latest" is not pinned/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('the Dockerfile passes the lint; each rule catches its violation', async () => {
    const good = await readFile('deploy/Dockerfile', 'utf8')
    assert.deepEqual(lintDockerfile(good), [])
    assert.match(good, /distroless\/nodejs22-debian12/)
    const bad = good
      .replace('FROM node:22.12.0-bookworm-slim AS build', 'FROM node:latest AS build')
      .replace(/^USER .*$/m, 'USER root')
      .replace('COPY bin ./bin', 'ADD https://example.com/tool.tgz /tmp/\nCOPY bin ./bin')
      .replace(/CMD \["\/nodejs\/bin\/node", "-e", [^\n]*/, 'CMD curl -f http://localhost:8080/health')
    const text = messages(lintDockerfile(bad))
    assert.match(text, /base image "node" is not pinned/)
    assert.match(text, /the final stage runs as root/)
    assert.match(text, /ADD from a URL/)
    assert.match(text, /HEALTHCHECK uses curl/)
    assert.match(messages(lintDockerfile(good.replace(/^USER .*\n/m, ''))), /no USER/)
    assert.match(
      messages(lintDockerfile(good.replace(/nodejs22-debian12:nonroot@sha256:[0-9a-f]+/, 'nodejs22-debian12:nonroot'))),
      /tag "nonroot" is rolling/
    )
  })
})

describe('monitoring', () => {
  test('promtool: the scrape config and rules check, and every alert has a passing unit test', async (t) => {
    const promtool = findProgram('promtool', t)
    if (promtool === null) return
    const cwd = 'deploy/monitoring'
    await run(promtool, ['check', 'config', 'prometheus.yml'], { cwd })
    await run(promtool, ['check', 'rules', 'alerts.yml'], { cwd })
    const tested = await run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd })
    assert.match(tested.stdout + tested.stderr, /SUCCESS/)
    const alerts = (await alertExpressions('deploy/monitoring/alerts.yml')).map((a) => a.panel)
    const testsText = await readFile('deploy/monitoring/alerts.test.yml', 'utf8')
    for (const a of alerts) assert.match(testsText, new RegExp(`alertname: ${a}\\n`), `alert ${a} has no unit test`)
  })

  test('promtool fails on a deliberately broken rule and on a wrong expectation', async (t) => {
    const promtool = findProgram('promtool', t)
    if (promtool === null) return
    const dir = await tempCopy('deploy/monitoring')
    try {
      const rules = await readFile(path.join(dir, 'alerts.yml'), 'utf8')
      await writeFile(
        path.join(dir, 'alerts.yml'),
        rules.replace(
          'max by (upstream, host) (circuit_breaker_state) == 2',
          'max by (upstream, host) (circuit_breaker_state == 2'
        )
      )
      await assert.rejects(
        run(promtool, ['check', 'rules', 'alerts.yml'], { cwd: dir }),
        /parse error|unclosed|could not parse/i
      )
      await writeFile(
        path.join(dir, 'alerts.yml'),
        rules.replace(
          'for: 1m\n        labels:\n          severity: warning\n        annotations:\n          summary: "Circuit',
          'for: 10m\n        labels:\n          severity: warning\n        annotations:\n          summary: "Circuit'
        )
      )
      await assert.rejects(run(promtool, ['test', 'rules', 'alerts.test.yml'], { cwd: dir }), /LucidCircuitOpen/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('the dashboard and the alerts use only metric names a live gateway exports', async (t) => {
    const openssl = findProgram('openssl', t)
    if (openssl === null) return
    const dir = await mkdtemp(path.join(tmpdir(), 'lucid-metrics-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    // TLS on, so the certificate-expiry gauge is there too.
    execFileSync(
      openssl,
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'k.pem'),
        '-out',
        path.join(dir, 'c.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost'
      ],
      { stdio: 'pipe' }
    )
    const port = await freePort()
    const g = spawnGateway(t, {
      DATA_DIR: path.join(dir, 'data'),
      HTTP_PORT: String(port),
      HTTPS_PORT: String(await freePort()),
      SSL_CERT_PATH: path.join(dir, 'c.pem'),
      SSL_KEY_PATH: path.join(dir, 'k.pem')
    })
    await g.waitFor(/gateway listening/)
    const res = await request(`http://127.0.0.1:${port}/metrics`)
    const exposition = await res.body.text()
    const exposed = exposedNames(exposition)
    assert.ok(
      exposed.has('http_requests_total') &&
        exposed.has('http_request_duration_seconds_bucket') &&
        exposed.has('tls_certificate_expiry_timestamp_seconds')
    )
    const dashboard = JSON.parse(await readFile('deploy/monitoring/grafana-dashboard.json', 'utf8'))
    const panelExprs = dashboardExpressions(dashboard)
    assert.ok(panelExprs.length >= 12)
    const used = new Set(panelExprs.flatMap((e) => metricNames(e.expr)))
    for (const needed of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'http_errors_total',
      'rate_limit_decisions_total',
      'circuit_breaker_state',
      'upstream_request_duration_seconds_bucket',
      'auth_events_total'
    ])
      assert.ok(used.has(needed), `dashboard lacks ${needed}`)
    assert.deepEqual(unknownMetrics(panelExprs, exposed, 'grafana-dashboard.json'), [])
    assert.deepEqual(unknownMetrics(await alertExpressions('deploy/monitoring/alerts.yml'), exposed, 'alerts.yml'), [])
    // And the check itself notices a misspelt metric.
    assert.match(
      messages(unknownMetrics([{ panel: 'typo', expr: 'sum(rate(http_request_total[5m]))' }], exposed, 'x')),
      /metric http_request_total is not exported/
    )
    assert.equal(await g.stop(), 0)
  })
})
