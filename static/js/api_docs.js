// The API reference page: Swagger UI (vendored) renders /api/openapi.json. Kept out of the HTML
// because the pages' CSP allows scripts from 'self' only.
window.ui = window.SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // never send the document to swagger.io's validator
  supportedSubmitMethods: [], // a reference, not a console: health data is not poked from here
});
