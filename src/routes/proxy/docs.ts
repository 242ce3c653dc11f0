/**
 * OpenAPI descriptions of the proxied endpoints of the plans (CONTRACT.md section 6, wallets
 * from the payment service plan), so clients see one API. Responses are the upstream's; the
 * schemas document them without constraining what is streamed back.
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { withErrors } from '../../schemas/common.js'

interface DocRoute {
  method: 'GET' | 'POST'
  url: string
  schema: Record<string, unknown>
}

const Passthrough = (description: string, shape?: TSchema) => ({ ...(shape ?? Type.Object({}, { additionalProperties: true })), description })
const security = [{ bearerAuth: [] }, { apiKeyAuth: [] }]
const Block = Type.Object({ block_id: Type.String(), height: Type.Integer(), hash: Type.String(), previous_hash: Type.String(), timestamp: Type.String(), merkle_root: Type.String(), transactions: Type.Array(Type.Unknown()) }, { additionalProperties: true })
const Tx = Type.Object({ transaction_id: Type.String(), status: Type.String({ enum: ['pending', 'confirmed', 'failed'] }), block_height: Type.Union([Type.Integer(), Type.Null()]), confirmed_at: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: true })

export function documentedProxyRoutes(prefix: string): DocRoute[] {
  const doc = (method: 'GET' | 'POST', path: string, tag: string, summary: string, response: TSchema, extra: Record<string, unknown> = {}, status = 200): DocRoute => ({
    method,
    url: `${prefix}${path}`,
    schema: { tags: [tag], summary, security, response: withErrors({ [status]: response }), ...extra }
  })
  if (prefix === '/api/v1/chain') {
    return [
      doc('GET', '/info', 'chain', 'lucid_blocks chain information', Passthrough('Chain height, network and status from lucid_blocks')),
      doc('GET', '/blocks', 'chain', 'Blocks in ascending height (limit 500/min per user)', Passthrough('Blocks page', Type.Object({ blocks: Type.Array(Block) }, { additionalProperties: true })), { querystring: Type.Object({ from_height: Type.Optional(Type.Integer({ minimum: 0 })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) }) }),
      doc('GET', '/blocks/:block_id', 'chain', 'A block by height or hash', Passthrough('Block', Block), { params: Type.Object({ block_id: Type.String({ description: 'height or hash' }) }) }),
      doc('POST', '/transactions', 'chain', 'Submit a transaction (send Idempotency-Key to make retries safe)', Passthrough('Accepted', Type.Object({ transaction_id: Type.String(), status: Type.Literal('pending') })), { body: Type.Object({ type: Type.String(), data: Type.Record(Type.String(), Type.Unknown()), signature: Type.Optional(Type.String()) }) }, 202),
      doc('GET', '/transactions/:transaction_id', 'chain', 'A transaction and its confirmation', Passthrough('Transaction', Tx), { params: Type.Object({ transaction_id: Type.String() }) })
    ]
  }
  if (prefix === '/api/v1/wallets') {
    return [
      doc('GET', '', 'wallets', 'My wallets (TRON payment service)', Passthrough('Wallet list')),
      doc('POST', '', 'wallets', 'Create a wallet (send Idempotency-Key)', Passthrough('Created wallet'), {}, 201),
      doc('GET', '/:wallet_id', 'wallets', 'A wallet', Passthrough('Wallet'), { params: Type.Object({ wallet_id: Type.String() }) }),
      doc('GET', '/:wallet_id/transactions', 'wallets', 'Transactions of a wallet', Passthrough('Wallet transactions'), { params: Type.Object({ wallet_id: Type.String() }) }),
      doc('POST', '/:wallet_id/transactions', 'wallets', 'Send a payment (send Idempotency-Key)', Passthrough('Payment accepted'), { params: Type.Object({ wallet_id: Type.String() }) }, 202)
    ]
  }
  return []
}
