import { join } from 'node:path';
import { Router } from 'express';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path.js';
import { methodNotAllowed } from '../errors.ts';
import { openApiDocument } from '../openapi/document.ts';
import { pagePolicy } from '../security-headers.ts';

/**
 * The files of Swagger UI the page uses, served from the installed package: nothing is fetched from a CDN,
 * so the page works on a machine without network. Only these, so that the package's own index.html (which
 * loads the petstore example from the internet) is not served.
 */
const SWAGGER_UI_FILES = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png']);
const ASSET_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Swagger UI's scripts and styles from here only, no inline script (its start-up is a file too), images
 * from here or inline (its icons are data: URLs), and "Try it out" requests to this API alone. It sets
 * styles inline, hence 'unsafe-inline' for styles, which cannot run anything.
 */
const DOCS_POLICY = pagePolicy({
  'script-src': "'self'",
  'style-src': "'self' 'unsafe-inline'",
  'img-src': "'self' data:",
  'connect-src': "'self'",
});

/**
 * Starts Swagger UI on the document. `validatorUrl: 'none'` keeps it from sending the document to
 * validator.swagger.io.
 */
const START_SCRIPT = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: 'none',
});
`;
const START_SCRIPT_FILE = 'start-swagger-ui.js';

/**
 * Relative URLs throughout, so the page works behind a proxy that mounts the API under a prefix: from
 * /docs, `docs/x` is /docs/x and `openapi.json` is /openapi.json.
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Propeller Manager API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/${START_SCRIPT_FILE}"></script>
</body>
</html>
`;

/** GET /openapi.json and the interactive reference at /docs. */
export function docsRoutes(version: string): Router {
  const router = Router();
  // Built and serialised once, on first use: it never changes while the process runs, and a process that
  // is never asked for it does not spend start-up time on it.
  let document: string | undefined;
  const assets = getAbsoluteFSPath();

  router
    .route('/openapi.json')
    .get((_req, res) => {
      document ??= JSON.stringify(openApiDocument(version));
      res.type('application/json').send(document);
    })
    .all(methodNotAllowed);

  router.get('/docs', (req, res) => {
    // At /docs/ the page's relative URLs would point one level too deep.
    if (req.path.endsWith('/')) {
      res.redirect(301, '../docs');
      return;
    }
    res.set('Content-Security-Policy', DOCS_POLICY).type('html').send(PAGE);
  });

  router.get('/docs/:file', (req, res, next) => {
    const { file } = req.params;
    if (file === START_SCRIPT_FILE) {
      res.type('js').send(START_SCRIPT);
      return;
    }
    if (!SWAGGER_UI_FILES.has(file)) {
      next();
      return;
    }
    res.sendFile(join(assets, file), { maxAge: ASSET_MAX_AGE_MS });
  });

  return router;
}
