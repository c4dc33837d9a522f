import { SwaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env";

/*
 * `/docs`: Swagger UI over `/openapi.json`. Its script and stylesheet come from the jsDelivr CDN,
 * pinned to one swagger-ui-dist release and checked by Subresource Integrity (a changed file
 * does not run), under a CSP that allows only them, this page's nonce'd start-up script and
 * same-origin requests; the page cannot be framed.
 */

const SWAGGER_UI_VERSION = "5.35.0";
// sha384 of swagger-ui-dist@5.35.0's files, as npm publishes them (jsDelivr serves them as is).
const INTEGRITY: Record<string, string> = {
  "swagger-ui-bundle.js": "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9",
  "swagger-ui.css": "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I",
};
const ASSET_BASE = `https://cdn.jsdelivr.net/npm/swagger-ui-dist@${SWAGGER_UI_VERSION}`;

const integrityOf = (url: string) => INTEGRITY[url.slice(url.lastIndexOf("/") + 1)] ?? "";

function page(nonce: string): string {
  const body = SwaggerUI({
    version: SWAGGER_UI_VERSION,
    url: "/openapi.json",
    manuallySwaggerUIHtml: (asset) => `
      <div id="swagger-ui"></div>
      ${asset.css.map((url) => `<link rel="stylesheet" href="${url}" integrity="${integrityOf(url)}" crossorigin="anonymous">`).join("")}
      ${asset.js.map((url) => `<script src="${url}" integrity="${integrityOf(url)}" crossorigin="anonymous"></script>`).join("")}
      <script nonce="${nonce}">
        window.onload = () => { window.ui = SwaggerUIBundle({ dom_id: "#swagger-ui", url: "/openapi.json" }); };
      </script>`,
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>keyward API</title></head><body>${body}</body></html>`;
}

export function docsRouter() {
  const app = new Hono<AppEnv>();
  app.get(
    "/docs",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        // Exactly the two pinned files, nothing else from the CDN.
        scriptSrc: [NONCE, `${ASSET_BASE}/swagger-ui-bundle.js`],
        // Swagger UI sets inline styles on its elements.
        styleSrc: [`${ASSET_BASE}/swagger-ui.css`, "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
      },
    }),
    (c) => c.html(page(c.get("secureHeadersNonce") ?? "")),
  );
  return app;
}
