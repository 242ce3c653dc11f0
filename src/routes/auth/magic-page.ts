/**
 * The default magic-link landing page. Opening the link does nothing by itself: the person
 * presses the button, whose script POSTs the token to /api/v1/auth/verify. Mail scanners that
 * prefetch links therefore cannot use the link up (CONTRACT.md section 4). The page's CSP allows
 * exactly this one script by its hash.
 */
import { createHash } from 'node:crypto'

const SCRIPT = `
document.getElementById('go').addEventListener('click', async function () {
  var btn = this, out = document.getElementById('out');
  btn.disabled = true;
  var token = document.getElementById('go').getAttribute('data-token');
  var totp = document.getElementById('totp').value.trim();
  var body = { token: token };
  if (totp) body.totp_code = totp;
  try {
    var res = await fetch('/api/v1/auth/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    var data = await res.json();
    if (res.ok) {
      out.textContent = 'Signed in as ' + (data.user.email || data.user.user_id) + '. You can close this page.';
      try { window.opener && window.opener.postMessage({ type: 'lucid-login', tokens: data }, window.location.origin); } catch (e) {}
    } else {
      out.textContent = data.error.message + (data.error.details && data.error.details.totp_required ? ' Enter your authenticator code and try again.' : '');
      btn.disabled = !(data.error.details && data.error.details.totp_required);
    }
  } catch (e) { out.textContent = 'Network error, try again.'; btn.disabled = false; }
});`

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64')
export const MAGIC_PAGE_CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

export function magicPage(token: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Sign in to Lucid</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}button{font-size:1.1rem;padding:.6rem 1.2rem}input{font-size:1rem;padding:.4rem;width:8rem}</style>
</head><body>
<h1>Sign in to Lucid</h1>
<p>Press the button to finish signing in. If your account uses an authenticator app, enter its code first.</p>
<p><label>Authenticator code (optional) <input id="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6"></label></p>
<p><button id="go" data-token="${escapeHtml(token)}">Sign in</button></p>
<p id="out" role="status"></p>
<script>${SCRIPT}</script>
</body></html>`
}
