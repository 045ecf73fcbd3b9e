// A file of its own, not an inline script, so the page's Content-Security-Policy can allow
// only the proxy's own scripts. Pre-fills the API key from ?apikey= so "Try it out" works
// straight away; validatorUrl: null keeps the spec from being sent to an online validator.
const apikey = new URLSearchParams(window.location.search).get("apikey");
window.ui = SwaggerUIBundle({
  url: "swagger.yaml",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  persistAuthorization: true,
  onComplete: () => { if (apikey) { window.ui.preauthorizeApiKey("ApiKeyHeader", apikey); } },
});
