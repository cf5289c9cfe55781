// Start Swagger UI on mything's /docs page.
//
// The page names its OpenAPI document in a data- attribute instead of an
// inline script, so that it can be served with a Content-Security-Policy
// that allows scripts from the page's own origin only.
"use strict";

(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    // No validator badge: it is an image from a public server, which would
    // be sent this document's URL.
    validatorUrl: null,
  });
})();
