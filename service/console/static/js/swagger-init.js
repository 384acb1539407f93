// Starts Swagger UI on /openapi.json (an external script: the page's policy allows no inline
// one). Requests made from it carry the console's key when one is signed in.
(() => {
  const root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // the badge would ask validator.swagger.io about the document
    requestInterceptor: (request) => {
      const key = window.sessionStorage.getItem("policy-eval.api-key");
      if (key && !request.headers.Authorization) request.headers.Authorization = `Bearer ${key}`;
      return request;
    },
  });
})();
