/**
 * RFC 6238 TOTP (6 digits, 30 s, SHA-1 — what authenticator apps expect) through `otpauth`, plus
 * the QR code (SVG) for enrolment. Single use is enforced by the caller through the returned step.
 */
import { Secret, TOTP } from 'otpauth'

export const TOTP_PERIOD_S = 30
export const TOTP_DIGITS = 6

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32
}

function totp(secretBase32: string, label: string): TOTP {
  return new TOTP({
    issuer: 'Lucid',
    label,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_S,
    secret: Secret.fromBase32(secretBase32)
  })
}

export function totpUri(secretBase32: string, label: string): string {
  return totp(secretBase32, label).toString()
}

export async function totpQrSvg(uri: string): Promise<string> {
  // Loaded on the first enrolment: qrcode is ~10 MB an idle gateway does not need.
  const QRCode = (await import('qrcode')).default
  return QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
}

/** The time step the code belongs to (±1 step accepted), or null when the code is wrong. */
export function checkTotp(secretBase32: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const delta = totp(secretBase32, 'x').validate({ token: code, timestamp: nowMs, window: 1 })
  if (delta === null) return null
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_S) + delta
}

/** Authenticator-style generator (tests and tooling). */
export function generateTotp(secretBase32: string, nowMs: number): string {
  return totp(secretBase32, 'x').generate({ timestamp: nowMs })
}
