/**
 * The default magic-link landing page. Opening the link does nothing by itself: the person
 * presses the button, whose script POSTs the token to /api/v1/auth/verify. Mail scanners that
 * prefetch links therefore cannot use the link up (CONTRACT.md section 4). The page's CSP allows
 * exactly this one script by its hash.
 *
 * The link is spent only when someone can receive the tokens (issue 13): the app that opened this
 * page (window.opener, same origin), or MAGIC_LINK_RETURN_URL, which receives them in the URL
 * fragment. Opened from a mail client there is neither, so the page asks for the emailed code
 * to be entered in the app instead and leaves the link unused.
 */
import { createHash } from 'node:crypto'

const SCRIPT = `
(function () {
  var go = document.getElementById('go'), out = document.getElementById('out');
  var returnUrl = go.getAttribute('data-return');
  var opener = null;
  try { opener = window.opener && window.opener.location.origin === window.location.origin ? window.opener : null; } catch (e) {}
  if (!returnUrl && !opener) return;
  document.getElementById('code-hint').hidden = true;
  document.getElementById('signin').hidden = false;
  go.addEventListener('click', async function () {
    go.disabled = true;
    var totp = document.getElementById('totp').value.trim();
    var body = { token: go.getAttribute('data-token') };
    if (totp) body.totp_code = totp;
    try {
      var res = await fetch('/api/v1/auth/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      var data = await res.json();
      if (!res.ok) {
        var again = data.error.details && data.error.details.totp_required;
        out.textContent = data.error.message + (again ? ' Enter your authenticator code and try again.' : '');
        go.disabled = !again;
        return;
      }
      if (returnUrl) {
        var f = new URLSearchParams({ access_token: data.access_token, refresh_token: data.refresh_token, token_type: data.token_type, expires_in: String(data.expires_in) });
        window.location.replace(returnUrl + '#' + f.toString());
        return;
      }
      opener.postMessage({ type: 'lucid-login', tokens: data }, window.location.origin);
      out.textContent = 'Signed in as ' + (data.user.email || data.user.user_id) + '. You can close this page.';
    } catch (e) { out.textContent = 'Network error, try again.'; go.disabled = false; }
  });
})();`

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64')
export const MAGIC_PAGE_CSP = `default-src 'none'; script-src 'sha256-${SCRIPT_HASH}'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem;line-height:1.5}button{font-size:1.1rem;padding:.6rem 1.2rem}input{font-size:1rem;padding:.4rem;width:8rem}'

function page(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${body}${script === '' ? '' : `\n<script>${script}</script>`}
</body></html>`
}

/** The landing page of a usable link. `returnUrl` is MAGIC_LINK_RETURN_URL, when set. */
export function magicPage(token: string, returnUrl?: string): string {
  return page(
    'Sign in to Lucid',
    `<p id="code-hint">To finish signing in, enter the <strong>6-digit code</strong> from the same email in the app
where you asked to sign in. This link has not been used: it stays valid until it expires.</p>
<div id="signin" hidden>
<p>Press the button to finish signing in. If your account uses an authenticator app, enter its code first.</p>
<p><label>Authenticator code (optional) <input id="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6"></label></p>
<p><button id="go" data-token="${escapeHtml(token)}"${returnUrl === undefined ? '' : ` data-return="${escapeHtml(returnUrl)}"`}>Sign in</button></p>
<p id="out" role="status"></p>
</div>`,
    SCRIPT
  )
}

/** A readable page for a link that cannot work: cut short by the mail client, expired or used. */
export function magicErrorPage(reason: 'malformed' | 'expired'): string {
  const why =
    reason === 'malformed'
      ? 'This sign-in link is incomplete — your mail program may have cut it. Copy the whole link from the email, or enter the 6-digit code from the email in the app.'
      : 'This sign-in link has expired or was already used. Links and codes work once, for 5 minutes. Ask the app for a new one.'
  return page('Sign-in link not valid', `<p>${escapeHtml(why)}</p>`)
}
