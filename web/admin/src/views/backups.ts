/** Backups and storage: backups and their jobs, schedules, database health and sizes, cache, volumes. */
import { api, get } from '../api.js'
import { lineChart } from '../chart.js'
import { confirmAction, notify } from '../dialog.js'
import { ago, badge, button, bytes, h, num, section, stat, swap, table, time, toneOf } from '../dom.js'
import type { ViewDef } from '../view.js'

interface Backup {
  backup_id: string
  name: string
  status: string
  size_bytes: number | null
  encryption: boolean
  created_at: string
  completed_at: string | null
  error: string | null
}
interface Schedule {
  schedule_id: string
  name: string
  cron: string
  enabled: boolean
  retention_days: number
  last_run_at: string | null
}
interface Job {
  name: string
  running: boolean
  last_started_at: string | null
  last_finished_at: string | null
  last_error: string | null
  run_count: number
  failure_count: number
}
interface Volume {
  name: string
  quota_bytes: number
  used_bytes: number
  files: number
  used_ratio: number
  status: string
  system: boolean
}
interface Health {
  database: { status: string; kind: string; version: string | null; latency_ms: number | null }
  cache: { status: string; kind: string; latency_ms: number | null }
}
interface Stats {
  database: {
    size_bytes: number
    tables: number
    rows_estimated: number
    index_size_bytes: number
    connections: { total: number; active: number }
    buffer_hit_rate: number | null
  }
}
interface CacheStats {
  kind: string
  keys: number
  memory_bytes: number | null
  hit_rate: number | null
  evicted_keys: number | null
  clients: number | null
}

const pct = (ratio: number) => `${num(ratio * 100, 1)} %`

export const backupsView: ViewDef = {
  id: 'backups',
  title: 'Backups & storage',
  refreshMs: 10_000,
  scope: 'Backups, schedules, jobs and volumes are shared by every instance; the cache is the shared state store.',
  mount(root, ctx) {
    const storage = h('div', { class: 'stats', id: 'storage-stats' })
    const backups = h('div', { id: 'backups-list' })
    const schedules = h('div', { id: 'backups-schedules' })
    const jobs = h('div', { id: 'jobs-list' })
    const volumes = h('div', { id: 'volumes-list' })
    const usage = lineChart('Volume usage (24 h)', 'MiB', [{ label: 'used', stroke: '#7fd1ff' }], 86_400)
    const volumeSelect = h('select', { id: 'volume-select', 'aria-label': 'Volume for the usage history' })
    volumeSelect.addEventListener('change', () => void history())

    async function history(): Promise<void> {
      if (volumeSelect.value === '') return
      const u = await get<{ history: { sampled_at: string; used_bytes: number }[]; current: { used_bytes: number } }>(
        `/api/v1/volumes/${encodeURIComponent(volumeSelect.value)}/usage?period=24h`
      )
      const points = [
        ...u.history.map((p) => ({ t: Date.parse(p.sampled_at), v: p.used_bytes })),
        { t: Date.now(), v: u.current.used_bytes }
      ]
      usage.set(
        points.map((p) => p.t),
        [points.map((p) => Math.round((p.v / 1048576) * 100) / 100)]
      )
    }
    async function create(): Promise<void> {
      const name = `dashboard-${new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-')}`
      if (
        !(await confirmAction(
          'Create a backup',
          `Start a full, compressed and encrypted backup named ${name} of every table. ` +
            'It runs in the background; its status shows below.',
          'Start backup'
        ))
      )
        return
      try {
        const r = await api<{ backup_id: string; status: string }>('POST', '/api/v1/backups', { name })
        notify(`Backup ${name} ${r.status}.`)
        ctx.refreshNow()
      } catch (err) {
        notify(`Refused: ${(err as Error).message}`, 'bad')
      }
    }
    async function verify(b: Backup): Promise<void> {
      if (
        !(await confirmAction(
          'Verify a backup',
          `Re-read backup ${b.name} from disk and check every checksum (and decrypt it). Nothing is changed.`,
          'Verify backup'
        ))
      )
        return
      try {
        const r = await api<{ valid: boolean; tables?: number; rows?: number; reason?: string }>(
          'POST',
          `/api/v1/backups/${b.backup_id}/verify`
        )
        notify(
          r.valid
            ? `Backup ${b.name} is intact: ${r.tables} tables, ${r.rows} rows.`
            : `Backup ${b.name} is damaged: ${r.reason}`,
          r.valid ? 'ok' : 'bad'
        )
      } catch (err) {
        notify(`Refused: ${(err as Error).message}`, 'bad')
      }
    }

    root.append(
      storage,
      section(
        'Backups',
        ctx.canAct ? button('Create a backup', () => void create(), { tone: 'primary', key: 'backup-create' }) : null,
        backups
      ),
      h('div', { class: 'grid-2' }, section('Backup schedules', schedules), section('Background jobs', jobs)),
      section(
        'Volumes',
        volumes,
        h('div', { class: 'inline-form' }, h('label', { for: 'volume-select' }, 'Usage history of'), volumeSelect),
        usage.el
      )
    )
    return {
      async refresh() {
        const [b, s, j, v, health, st, cache] = await Promise.all([
          get<{ backups: Backup[] }>('/api/v1/backups?limit=10'),
          get<{ schedules: Schedule[] }>('/api/v1/backups/schedules'),
          get<{ jobs: Job[]; defined: string[] }>('/api/v1/meta/jobs'),
          get<{ volumes: Volume[] }>('/api/v1/volumes'),
          get<Health>('/api/v1/database/health'),
          get<Stats>('/api/v1/database/stats'),
          get<CacheStats>('/api/v1/cache/stats')
        ])
        const d = st.database
        swap(
          storage,
          stat(
            'Database',
            health.database.status,
            `${health.database.kind} ${health.database.version ?? ''}, ${num(health.database.latency_ms, 1)} ms`,
            'db'
          ),
          stat(
            'Database size',
            bytes(d.size_bytes),
            `${num(d.tables)} tables, ~${num(d.rows_estimated)} rows, indexes ${bytes(d.index_size_bytes)}`,
            'db-size'
          ),
          stat(
            'Connections',
            `${num(d.connections.active)} active`,
            `${num(d.connections.total)} open; buffer hit ${d.buffer_hit_rate === null ? '—' : pct(d.buffer_hit_rate)}`
          ),
          stat(
            'Cache',
            health.cache.status,
            `${cache.kind}: ${num(cache.keys)} keys, ${bytes(cache.memory_bytes)}`,
            'cache'
          ),
          stat(
            'Cache hit rate',
            cache.hit_rate === null ? '—' : `${num(cache.hit_rate * 100, 1)} %`,
            `${num(cache.evicted_keys ?? 0)} evicted${cache.clients === null ? '' : `, ${cache.clients} clients`}`
          )
        )
        swap(
          backups,
          table(
            'Backups',
            ['Name', 'Status', 'Size', 'Started', 'Finished', ''],
            b.backups.map((x) => [
              x.name,
              h('span', {}, badge(x.status, toneOf(x.status)), x.error ? ` ${x.error}` : ''),
              bytes(x.size_bytes),
              time(x.created_at),
              x.completed_at ? ago(x.completed_at) : '—',
              ctx.canAct && x.status === 'completed'
                ? button('Verify', () => void verify(x), { key: `verify-${x.backup_id}` })
                : ''
            ]),
            { empty: 'No backup yet.' }
          )
        )
        swap(
          schedules,
          table(
            'Schedules',
            ['Name', 'Cron (UTC)', 'Enabled', 'Keeps', 'Last run'],
            s.schedules.map((x) => [
              x.name,
              h('code', {}, x.cron),
              x.enabled ? 'yes' : 'no',
              `${x.retention_days} d`,
              ago(x.last_run_at)
            ]),
            { empty: 'No schedule.' }
          )
        )
        const byName = new Map(j.jobs.map((x) => [x.name, x]))
        swap(
          jobs,
          table(
            'Jobs',
            ['Job', 'State', 'Last run', 'Runs', 'Failures'],
            j.defined.map((n) => {
              const x = byName.get(n)
              return [
                h('code', {}, n),
                x === undefined
                  ? h('span', { class: 'hint' }, 'no shared run yet')
                  : x.running
                    ? badge('running', 'warn')
                    : x.last_error
                      ? badge('failed', 'bad')
                      : badge('idle', 'ok'),
                x ? ago(x.last_finished_at ?? x.last_started_at) : '—',
                num(x?.run_count ?? 0),
                num(x?.failure_count ?? 0)
              ]
            })
          )
        )
        swap(
          volumes,
          table(
            'Volumes',
            ['Volume', 'Status', 'Used', 'Quota', 'Files'],
            v.volumes.map((x) => [
              h('span', {}, x.name, x.system ? ' ' : '', x.system ? badge('system', 'info') : null),
              badge(x.status, toneOf(x.status)),
              h(
                'span',
                {},
                h('meter', {
                  min: 0,
                  max: 1,
                  value: x.used_ratio,
                  'aria-label': `${num(x.used_ratio * 100, 1)} % of quota`
                }),
                ` ${bytes(x.used_bytes)}`
              ),
              bytes(x.quota_bytes),
              num(x.files)
            ]),
            { empty: 'No volume.' }
          )
        )
        const keep = volumeSelect.value
        if (volumeSelect.options.length !== v.volumes.length) {
          volumeSelect.replaceChildren(
            ...v.volumes.map((x) => h('option', { value: x.name, selected: x.name === keep }, x.name))
          )
        }
        await history()
      },
      destroy() {
        usage.destroy()
      }
    }
  }
}
