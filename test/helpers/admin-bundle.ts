/**
 * CI runs `npm test` on a fresh clone without `npm run build`: tests that load the dashboard build
 * its bundle first when it is missing or was built from other sources (scripts/build-admin.mjs).
 */
import { adminBundleStale, buildAdmin } from '../../scripts/build-admin.mjs'

export async function ensureAdminBundle(): Promise<void> {
  if (await adminBundleStale()) await buildAdmin()
}
