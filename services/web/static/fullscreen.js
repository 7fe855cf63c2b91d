// Conference mode on a tablet: a Full screen button (where the browser allows it), and, while
// full screen, Next and Back change the step in place, so the screen stays full (following a
// link would leave full screen). Without JavaScript, Next and Back are plain links.
(function () {
  "use strict";
  var button = document.querySelector(".fullscreen-button");
  if (!button || !document.fullscreenEnabled || !window.fetch || !window.DOMParser) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else {
      document.documentElement.requestFullscreen();
    }
  });

  function show(address, remember) {
    return fetch(address, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        throw new Error(String(response.status));
      }
      return response.text();
    }).then(function (html) {
      var next = new DOMParser().parseFromString(html, "text/html");
      var shown = next.getElementById("conference");
      if (!shown) {
        throw new Error("no step");
      }
      document.getElementById("conference").replaceWith(document.adoptNode(shown));
      document.title = next.title;
      if (remember) {
        history.pushState(null, "", address);
      }
      document.dispatchEvent(new Event("slc:shown"));
      document.querySelector("#conference h1").focus();
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest(".step-links a[rel]");
    if (!link || !document.fullscreenElement) {
      return;
    }
    event.preventDefault();
    show(link.href, true).catch(function () {
      window.location.href = link.href;
    });
  });
  window.addEventListener("popstate", function () {
    if (document.fullscreenElement) {
      show(window.location.href, false).catch(function () {
        window.location.reload();
      });
    }
  });
})();
