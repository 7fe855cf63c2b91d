// Record my voice: where the browser can record (MediaRecorder) and may use the microphone, a
// Record / Stop button puts the recording into the form's file input (DataTransfer), ready to
// save with the form. Without it, the file input alone is there: choose a recording.
(function () {
  "use strict";
  var form = document.querySelector(".recorder-form");
  if (!form || !window.MediaRecorder || !window.DataTransfer || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var recorder = form.querySelector(".recorder");
  var button = form.querySelector(".record-button");
  var label = button.querySelector("span");
  var status = form.querySelector(".recorder-status");
  var input = form.querySelector("input[type=file]");
  var recording = null;
  recorder.hidden = false;

  function say(what) {
    status.textContent = status.getAttribute("data-" + what);
  }

  button.addEventListener("click", function () {
    if (recording) {
      recording.stop();
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var parts = [];
      recording = new MediaRecorder(stream);
      recording.addEventListener("dataavailable", function (event) {
        if (event.data.size) {
          parts.push(event.data);
        }
      });
      recording.addEventListener("stop", function () {
        stream.getTracks().forEach(function (track) { track.stop(); });
        var type = (recording.mimeType || "audio/webm").split(";")[0];
        var ending = type.indexOf("ogg") >= 0 ? "ogg" : type.indexOf("mp4") >= 0 ? "m4a" : "webm";
        var files = new DataTransfer();
        files.items.add(new File(parts, "recording." + ending, { type: type }));
        input.files = files.files;
        recording = null;
        label.textContent = button.getAttribute("data-start");
        say("recorded");
      });
      recording.start();
      label.textContent = button.getAttribute("data-stop");
      say("recording");
    }).catch(function () {
      recorder.hidden = true;
      status.hidden = false;
      say("refused");
      form.insertBefore(status, recorder);
    });
  });
})();
