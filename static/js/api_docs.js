// The API reference page: Swagger UI (vendored) renders /api/openapi.json. Kept out of the HTML
// because the pages' CSP allows scripts from 'self' only.
window.ui = window.SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // never send the document to swagger.io's validator
  supportedSubmitMethods: [], // a reference, not a console: health data is not poked from here
  // Tags start folded: the reader opens the one they want. Swagger UI 5.35 stops drawing
  // operations partway when all of this document's (about 150) are expanded at once.
  docExpansion: "none",
  filter: true, // a search box over the tags
});
