// Read aloud: each button with data-speak="<id>" speaks the text of the element with that id,
// in the language it is written in (its closest lang attribute). The buttons stay hidden unless
// the browser can speak. (Conference mode swaps its step in place: "slc:shown" reveals the new
// step's buttons.)
(function () {
  "use strict";
  if (!("speechSynthesis" in window) || typeof SpeechSynthesisUtterance === "undefined") {
    return;
  }

  function reveal() {
    document.querySelectorAll("[data-speak]").forEach(function (button) {
      button.hidden = !document.getElementById(button.getAttribute("data-speak"));
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-speak]");
    var source = button && document.getElementById(button.getAttribute("data-speak"));
    if (!source) {
      return;
    }
    var words = new SpeechSynthesisUtterance(source.textContent.trim());
    var written = source.closest("[lang]");
    words.lang = written ? written.getAttribute("lang") : document.documentElement.lang;
    words.rate = 0.9;
    window.speechSynthesis.cancel();
    window.speechSynthesis.speak(words);
  });
  document.addEventListener("slc:shown", reveal);
  reveal();
})();
