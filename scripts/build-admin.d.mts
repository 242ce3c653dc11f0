/** Types of scripts/build-admin.mjs for the TypeScript tests that call it. */
export const ADMIN_INPUTS: string[]
export const ADMIN_OUT: string
export function adminInputsHash(): Promise<string>
export function adminBundleStale(): Promise<boolean>
export function buildAdmin(): Promise<{ ms: number; bytes: number }>
