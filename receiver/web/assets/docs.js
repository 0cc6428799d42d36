// Starts Swagger UI on /docs over the document the page names (a file, not inline: the page's policy allows no inline script).
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui" });
