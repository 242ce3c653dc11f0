/** Manifest request and response schemas (the Manifest itself is shared with sessions: routes/shared/schema.ts). */
import { Type } from '@sinclair/typebox'
import { ManifestSchema } from '../shared/schema.js'

export const ManifestParams = Type.Object({ manifest_id: Type.String({ format: 'uuid' }) })
export const CreateManifestBody = Type.Object(
  { session_id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false }
)
export const ProofParams = Type.Object({
  manifest_id: Type.String({ format: 'uuid' }),
  // chunk_index is an integer column: beyond it is a 422, not a 500 from PostgreSQL.
  index: Type.Integer({ minimum: 0, maximum: 2_147_483_647 })
})
export const ProofSchema = Type.Object({
  manifest_id: Type.String(),
  chunk_index: Type.Integer(),
  chunk_hash: Type.String(),
  merkle_root: Type.String(),
  proof_hashes: Type.Array(Type.String()),
  proof_directions: Type.Array(Type.String())
})
export const VerificationSchema = Type.Object({
  valid: Type.Boolean(),
  manifest_id: Type.String(),
  merkle_root: Type.String(),
  computed_root: Type.String(),
  chunk_count: Type.Integer(),
  corrupted_chunks: Type.Array(Type.Integer()),
  missing_chunks: Type.Array(Type.Integer())
})
export const AnchorQuerystring = Type.Object({ refresh: Type.Optional(Type.Boolean()) })
/** The shared Manifest by reference (one component in the OpenAPI document). */
export const ManifestRef = Type.Ref(ManifestSchema)
