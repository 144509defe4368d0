/* The built-in UI's bridge to webauthn.js: its pages allow no inline handlers (CSP), so buttons carry the
 * function to call in data-ory-trigger and hidden inputs the one to run on load in data-ory-onload. */
(function () {
  "use strict";
  function call(name) {
    if (typeof window[name] === "function") window[name]();
  }
  function wire() {
    document.querySelectorAll("[data-ory-trigger]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        event.preventDefault();
        call(button.getAttribute("data-ory-trigger"));
      });
    });
    document.querySelectorAll("[data-ory-onload]").forEach(function (input) {
      call(input.getAttribute("data-ory-onload"));
    });
  }
  if (window.__oryWebAuthnInitialized) wire();
  else window.addEventListener("oryWebAuthnInitialized", wire, { once: true });
})();
