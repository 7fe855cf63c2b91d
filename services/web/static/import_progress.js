// While a roster import runs, its page brings its progress up to date every two seconds
// without reloading the page (with JavaScript off, a <noscript> refresh does it instead).
(function () {
  "use strict";
  var run = document.getElementById("import-run");
  if (!run || !run.hasAttribute("data-running")) {
    return;
  }
  function follow() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      })
      .then(function (text) {
        var page = new DOMParser().parseFromString(text, "text/html");
        var fresh = page.getElementById("import-run");
        if (!fresh) {
          return;
        }
        run.replaceWith(document.importNode(fresh, true));
        run = document.getElementById("import-run");
        if (run.hasAttribute("data-running")) {
          window.setTimeout(follow, 2000);
        }
      })
      .catch(function () {
        window.setTimeout(follow, 10000);
      });
  }
  window.setTimeout(follow, 2000);
})();
