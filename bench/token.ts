/** Prints an access token from a running gateway (for ad-hoc wrk and profiling): node --import tsx bench/token.ts http://127.0.0.1:8080 */
import { walletToken } from './support.js'

console.log(await walletToken(process.argv[2] ?? 'http://127.0.0.1:8080'))
