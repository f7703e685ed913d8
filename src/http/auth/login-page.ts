import { LOGIN_STYLE_SHEET } from '../page-paths.ts';
import { pagePolicy } from '../security-headers.ts';

/** The dashboard's style sheet and an inline icon; the form posts to itself; no script at all. */
export const LOGIN_PAGE_POLICY = pagePolicy({
  'style-src': "'self'",
  'img-src': 'data:',
  'form-action': "'self'",
});

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe to place in an element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%234f46e5'/%3E%3C/svg%3E";

/**
 * The login form, in the dashboard's look: it uses the dashboard's style sheet, the one file of the pages
 * served without authentication (see LOGIN_STYLE_SHEET). `next` (already checked by safeNext) travels in a
 * hidden field, so the form returns the browser where it was going. URLs are relative, as the other pages'
 * are: from /login, `login` is /login.
 */
export function loginPage(options: { next: string; error?: string }): string {
  const error = options.error
    ? `\n          <p class="form-status error" role="alert">${escapeHtml(options.error)}</p>`
    : '';
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Log in · Propeller Manager</title>
    <link rel="icon" href="${ICON}" />
    <link rel="stylesheet" href="${LOGIN_STYLE_SHEET.slice(1)}" />
  </head>
  <body>
    <header class="top">
      <h1>Propeller Manager</h1>
    </header>
    <main>
      <section class="panel login" aria-labelledby="login-title">
        <h2 id="login-title">Log in</h2>
        <form method="post" action="login">
          <label>
            <span>API token</span>
            <input name="token" type="password" autocomplete="current-password" required autofocus />
          </label>
          <input type="hidden" name="next" value="${escapeHtml(options.next)}" />${error}
          <button type="submit">Log in</button>
        </form>
        <p class="hint">
          The token is kept in a cookie that scripts cannot read, sent to this manager only, until the
          browser closes or you log out.
        </p>
      </section>
    </main>
  </body>
</html>
`;
}
