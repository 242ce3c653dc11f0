/**
 * OpenAPI descriptions of the proxied endpoints of the plans (CONTRACT.md section 6; wallets and
 * nodes from plans-digest 1.8 and 1.9), so clients see one API. They document only: proxy routes
 * never validate (the upstream is the authority) and the upstream's responses pass through, which
 * the document states for every status (src/plugins/openapi-transform.ts).
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { PaginationQuerySchema, withErrors } from '../../schemas/common.js'

interface DocRoute {
  method: 'GET' | 'POST'
  url: string
  schema: Record<string, unknown>
}

const Passthrough = (description: string, shape?: TSchema) => ({
  ...(shape ?? Type.Object({}, { additionalProperties: true })),
  description
})
const Open = (props: Parameters<typeof Type.Object>[0]) => Type.Object(props, { additionalProperties: true })
const Block = Open({
  block_id: Type.String(),
  height: Type.Integer(),
  hash: Type.String(),
  previous_hash: Type.String(),
  timestamp: Type.String(),
  merkle_root: Type.String(),
  transactions: Type.Array(Type.Unknown())
})
const Tx = Open({
  transaction_id: Type.String(),
  status: Type.String({ enum: ['pending', 'confirmed', 'failed'] }),
  block_height: Type.Union([Type.Integer(), Type.Null()]),
  confirmed_at: Type.Union([Type.String(), Type.Null()])
})
const Id = (name: string, description?: string) =>
  Type.Object({ [name]: Type.String(description === undefined ? {} : { description }) })
const Currency = Type.String({ enum: ['USDT', 'TRX'] })

const WalletCreate = Open({
  name: Type.String({ minLength: 1, maxLength: 255 }),
  currency: Currency,
  network: Type.Optional(Type.String({ enum: ['TRON'], default: 'TRON' })),
  hardware_wallet: Type.Optional(Type.Boolean({ default: false })),
  hardware_wallet_path: Type.Optional(Type.String({ maxLength: 200 }))
})
const WalletTransaction = Open({
  type: Type.String({ enum: ['transfer', 'payment'] }),
  amount: Type.Number({ minimum: 0 }),
  recipient: Type.String(),
  currency: Type.Optional(Currency),
  memo: Type.Optional(Type.String())
})
const Maintenance = Open({
  enabled: Type.Boolean({ description: 'true enters maintenance, false leaves it' }),
  reason: Type.Optional(Type.String({ maxLength: 500 }))
})

export function documentedProxyRoutes(prefix: string): DocRoute[] {
  const doc = (
    method: 'GET' | 'POST',
    path: string,
    tag: string,
    summary: string,
    response: TSchema,
    extra: Record<string, unknown> = {},
    status = 200
  ): DocRoute => ({
    method,
    url: `${prefix}${path}`,
    schema: { tags: [tag], summary, response: withErrors({ [status]: response }), ...extra }
  })
  if (prefix === '/api/v1/chain') {
    return [
      doc(
        'GET',
        '/info',
        'chain',
        'lucid_blocks chain information',
        Passthrough('Chain height, network and status from lucid_blocks')
      ),
      doc(
        'GET',
        '/blocks',
        'chain',
        'Blocks in ascending height (limit 500/min per user)',
        Passthrough('Blocks page', Open({ blocks: Type.Array(Block) })),
        {
          querystring: Type.Object({
            from_height: Type.Optional(Type.Integer({ minimum: 0 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 }))
          })
        }
      ),
      doc('GET', '/blocks/:block_id', 'chain', 'A block by height or hash', Passthrough('Block', Block), {
        params: Id('block_id', 'height or hash')
      }),
      doc(
        'POST',
        '/transactions',
        'chain',
        'Submit a transaction (send Idempotency-Key to make retries safe)',
        Passthrough('Accepted', Type.Object({ transaction_id: Type.String(), status: Type.Literal('pending') })),
        {
          body: Type.Object({
            type: Type.String(),
            data: Type.Record(Type.String(), Type.Unknown()),
            signature: Type.Optional(Type.String())
          })
        },
        202
      ),
      doc(
        'GET',
        '/transactions/:transaction_id',
        'chain',
        'A transaction and its confirmation',
        Passthrough('Transaction', Tx),
        { params: Id('transaction_id') }
      )
    ]
  }
  if (prefix === '/api/v1/wallets') {
    return [
      doc('GET', '', 'wallets', 'My wallets (TRON payment service)', Passthrough('Wallet list'), {
        querystring: PaginationQuerySchema
      }),
      doc(
        'POST',
        '',
        'wallets',
        'Create a wallet (send Idempotency-Key)',
        Passthrough('Created wallet'),
        { body: WalletCreate },
        201
      ),
      doc('GET', '/:wallet_id', 'wallets', 'A wallet', Passthrough('Wallet'), { params: Id('wallet_id') }),
      doc(
        'GET',
        '/:wallet_id/transactions',
        'wallets',
        'Transactions of a wallet',
        Passthrough('Wallet transactions'),
        { params: Id('wallet_id') }
      ),
      doc(
        'POST',
        '/:wallet_id/transactions',
        'wallets',
        'Send a payment (send Idempotency-Key)',
        Passthrough('Payment accepted'),
        { params: Id('wallet_id'), body: WalletTransaction },
        201
      )
    ]
  }
  if (prefix === '/api/v1/nodes') {
    const writes = 'Writes need role `node_operator` or above.'
    return [
      doc('GET', '', 'nodes', 'Nodes (node management)', Passthrough('Node list'), {
        querystring: PaginationQuerySchema
      }),
      doc('GET', '/:node_id', 'nodes', 'A node', Passthrough('Node'), { params: Id('node_id') }),
      doc('GET', '/:node_id/metrics', 'nodes', 'Metrics of a node', Passthrough('Node metrics'), {
        params: Id('node_id')
      }),
      doc(
        'POST',
        '/:node_id/restart',
        'nodes',
        'Restart a node (node_operator)',
        Passthrough('Restart accepted'),
        { params: Id('node_id'), description: writes },
        202
      ),
      doc(
        'POST',
        '/:node_id/maintenance',
        'nodes',
        'Enter or leave maintenance (node_operator)',
        Passthrough('Maintenance state'),
        { params: Id('node_id'), body: Maintenance, description: writes }
      )
    ]
  }
  return []
}
