/**
 * /api/v1/volumes (issue 7), addressed by name: admins read (usage, history, health), super_admins
 * create, change status, resize, clean up and delete (confirm=true; refused while in use).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { routeGroup } from '../shared/route.js'
import { createSchema } from '../shared/schema.js'
import type { TSchema } from '@fastify/type-provider-typebox'
import { withErrors } from '../../schemas/common.js'
import { requireConfirm } from '../shared/request.js'
import type { VolumeRow, VolumeService } from '../../volumes/volumes.js'
import { auditReads } from '../shared/audit-reads.js'
import {
  CleanupSchema,
  Confirm,
  CreateVolumeBody,
  NameParams,
  Periods,
  ResizeBody,
  StatusBody,
  UsageQuerystring,
  UsageSchema,
  VolumeHealthSchema,
  VolumeSchema,
  VolumesSchema,
  NoContent
} from './schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    volumes: VolumeService
  }
}

export default async function volumeRoutes(fastify: FastifyInstance): Promise<void> {
  const { app, admin, superAdmin } = routeGroup(fastify, 'volumes')
  const volumes = app.services.volumes
  auditReads(app, 'volumes')
  const view = async (v: VolumeRow) => {
    const u = await volumes.usage(v.name)
    return {
      name: v.name,
      path: volumes.dirOf(v.name),
      quota_bytes: v.quota_bytes,
      status: v.status,
      system: v.system,
      used_bytes: u.used_bytes,
      files: u.files,
      used_ratio: Math.round((u.used_bytes / v.quota_bytes) * 1e6) / 1e6,
      created_at: new Date(v.created_at).toISOString(),
      updated_at: new Date(v.updated_at).toISOString()
    }
  }

  app.get(
    '/',
    admin({ summary: 'Volumes with current usage', response: withErrors({ 200: VolumesSchema }) }),
    async () => ({ volumes: await Promise.all((await volumes.list()).map(view)) })
  )

  app.post(
    '/',
    superAdmin(createSchema('Create a volume under VOLUMES_ROOT (super_admin)', CreateVolumeBody, VolumeSchema)),
    async (request, reply) => {
      const v = await volumes.create(request.body.name, request.body.quota_bytes, request.user!.id)
      await app.audit(request, {
        action: 'volume.created',
        target_type: 'volume',
        target_id: v.name,
        details: { quota_bytes: v.quota_bytes }
      })
      return reply.code(201).send(await view(v))
    }
  )

  app.get(
    '/:name',
    admin({ summary: 'One volume', params: NameParams, response: withErrors({ 200: VolumeSchema }) }),
    async (request) => view(await volumes.get(request.params.name))
  )

  // Status and quota changes: one field updated, then audited with the value it now has.
  const change = <B extends TSchema>(summary: string, body: B) =>
    superAdmin({ summary, params: NameParams, body, response: withErrors({ 200: VolumeSchema }) })
  const changeOne = async <K extends 'status' | 'quota_bytes'>(
    request: FastifyRequest,
    name: string,
    action: string,
    field: K,
    value: VolumeRow[K]
  ) => {
    const v = await volumes.update(name, { [field]: value } as Partial<Pick<VolumeRow, K>>)
    await app.audit(request, { action, target_type: 'volume', target_id: v.name, details: { [field]: v[field] } })
    return view(v)
  }

  app.put('/:name', change("Change a volume's status (super_admin)", StatusBody), async (request) =>
    changeOne(request, request.params.name, 'volume.status_changed', 'status', request.body.status)
  )

  app.post(
    '/:name/resize',
    change('Change the quota; never below what is in use (super_admin)', ResizeBody),
    async (request) =>
      changeOne(request, request.params.name, 'volume.resized', 'quota_bytes', request.body.quota_bytes)
  )

  app.delete(
    '/:name',
    superAdmin({
      errors: [409],
      summary: 'Delete an empty, non-system volume (super_admin, confirm=true)',
      params: NameParams,
      querystring: Confirm,
      response: withErrors({ 204: NoContent })
    }),
    async (request, reply) => {
      requireConfirm(request)
      await volumes.remove(request.params.name)
      await app.audit(request, { action: 'volume.deleted', target_type: 'volume', target_id: request.params.name })
      return reply.code(204).send(null)
    }
  )

  app.get(
    '/:name/usage',
    admin({
      summary: 'Current usage and sampled history',
      params: NameParams,
      querystring: UsageQuerystring,
      response: withErrors({ 200: UsageSchema })
    }),
    async (request) => {
      const v = await volumes.get(request.params.name)
      const current = await volumes.usage(v.name)
      const history = await volumes.history(v.name, Periods[request.query.period])
      return {
        name: v.name,
        period: request.query.period,
        quota_bytes: v.quota_bytes,
        current,
        history: history.map((h) => ({ ...h, sampled_at: new Date(h.sampled_at).toISOString() }))
      }
    }
  )

  app.get(
    '/:name/health',
    admin({
      summary: 'Free space and a write test',
      params: NameParams,
      response: withErrors({ 200: VolumeHealthSchema })
    }),
    async (request) => ({ name: request.params.name, ...(await volumes.health(request.params.name)) })
  )

  app.post(
    '/:name/cleanup',
    superAdmin({
      summary: 'Remove orphaned and stale temporary files (super_admin)',
      params: NameParams,
      response: withErrors({ 200: CleanupSchema })
    }),
    async (request) => {
      const r = await volumes.cleanup(request.params.name)
      await app.audit(request, {
        action: 'volume.cleaned',
        target_type: 'volume',
        target_id: request.params.name,
        details: r
      })
      return r
    }
  )
}
