import { describe, expect, it } from "vitest";
import { call, json } from "./helpers";

describe("OpenAPI document", () => {
  it("describes every route from the same schemas that validate input", async () => {
    const doc = await json(await call("/openapi.json"), 200);
    expect(doc.openapi).toBe("3.1.0");
    for (const path of [
      "/v2/_zot/ext/apikey",
      "/zot/auth/apikey",
      "/api/v1/superuser/users",
      "/api/v1/superuser/users/{username}",
      "/api/v1/user",
      "/api/v1/superuser/logs",
      "/api/v1/user/apikeys",
      "/api/v1/user/apikeys/builtin",
      "/api/v1/user/apikeys/{id}",
      "/_admin/api",
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const create = doc.paths["/v2/_zot/ext/apikey"].post;
    const schema = create.requestBody.content["application/json"].schema;
    expect(JSON.stringify(doc.components.schemas.CreateApiKey ?? schema)).toContain("expirationDate");
    expect(create.responses["201"]).toBeDefined();
    expect(doc.components.securitySchemes.basicAuth.scheme).toBe("basic");
    // Kallithea's endpoint documents its text/plain envelope and its methods.
    const rpc = doc.paths["/_admin/api"].post;
    expect(Object.keys(rpc.requestBody.content)).toEqual(["text/plain", "application/json"]);
    expect(rpc.description).toContain("reset_builtin_api_key");
    expect(doc.components.schemas.CreateExtraApiKey.properties.lifetime).toBeDefined();
  });

  it("serves a browsable reference of /openapi.json at /docs", async () => {
    const response = await call("/docs");
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(html).toContain("/openapi.json");
    // One pinned release, checked by Subresource Integrity, under a CSP; never framed.
    expect(html).toContain("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/swagger-ui-bundle.js");
    expect(html.match(/integrity="sha384-[A-Za-z0-9+/=]{64}"/g)).toHaveLength(2);
    const csp = response.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(
      /script-src 'nonce-[^']+' https:\/\/cdn\.jsdelivr\.net\/npm\/swagger-ui-dist@5\.35\.0\/swagger-ui-bundle\.js;/,
    );
    expect(html).toMatch(/<script nonce="[^"]+">/);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await call("/nope");
    expect(response.headers.get("content-type")).toContain("application/json");
    expect((await json(response, 404)).error.code).toBe("not_found");
  });

  it("marks responses uncacheable", async () => {
    const response = await call("/api/v1/user/");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("health", () => {
  it("answers liveness and readiness", async () => {
    expect(await json(await call("/healthz"), 200)).toEqual({ status: "ok" });
    expect(await json(await call("/readyz"), 200)).toEqual({ status: "ok" });
  });
});
