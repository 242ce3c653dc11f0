/**
 * `npm run check:deploy`: every deployment check that needs no cluster and no Docker engine
 * (the same checks test/deploy runs in CI). promtool is used when installed.
 */
import { execFileSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { checkCompose, checkKustomization, checkManifestFile, lintDockerfile, type Problem } from './check.js'

const problems: Problem[] = []
for (const dir of ['deploy/k8s/base', 'deploy/k8s/overlays/production'])
  problems.push(...(await checkKustomization(dir)).problems)
problems.push(...(await checkManifestFile('deploy/k8s/base/secret.template.yaml')))
problems.push(
  ...(await checkCompose(['deploy/docker-compose.yml'])),
  ...(await checkCompose(['deploy/docker-compose.yml', 'deploy/docker-compose.dev.yml']))
)
problems.push(...lintDockerfile(await readFile('deploy/Dockerfile', 'utf8'), 'deploy/Dockerfile'))
try {
  for (const args of [
    ['check', 'config', 'prometheus.yml'],
    ['check', 'rules', 'alerts.yml'],
    ['test', 'rules', 'alerts.test.yml']
  ]) {
    execFileSync('promtool', args, { cwd: 'deploy/monitoring', stdio: 'pipe' })
  }
  console.log('promtool: config, rules and rule tests pass')
} catch (err) {
  const e = err as { code?: string; stdout?: Buffer; stderr?: Buffer }
  if (e.code === 'ENOENT') console.log('promtool not installed (Debian package "prometheus"): monitoring not checked')
  else
    problems.push({
      file: 'deploy/monitoring',
      message: `promtool: ${String(e.stdout ?? '')}${String(e.stderr ?? '')}`.trim()
    })
}
for (const p of problems) console.error(`${p.file}: ${p.message}`)
console.log(problems.length === 0 ? 'deployment files: no problems' : `${problems.length} problem(s)`)
process.exitCode = problems.length === 0 ? 0 : 1
