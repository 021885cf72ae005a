// Voice messages (语音消息): hold the button to record with MediaRecorder, let go to send; or
// tap once to start and once more to send. The clip goes up through the file upload API and is
// then sent as a message with its file_id; the server measures it and refuses more than 60 s.
// Without MediaRecorder or a microphone the section says so and the text chat stays.
(function () {
  "use strict";
  var TYPES = [
    ["audio/webm;codecs=opus", "voice.webm"],
    ["audio/ogg;codecs=opus", "voice.ogg"],
    ["audio/mp4", "voice.m4a"],
  ];
  var TAP_MS = 400; // a press shorter than this starts a tap-to-send recording
  var SHORTEST_MS = 800;

  function chooseType() {
    for (var i = 0; i < TYPES.length; i++) {
      if (MediaRecorder.isTypeSupported(TYPES[i][0])) return TYPES[i];
    }
    return null;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? values[name] : all;
    });
  }

  async function problemDetail(response, fallback) {
    try {
      var body = await response.json();
      return body.detail || body.title || fallback;
    } catch (error) {
      return fallback;
    }
  }

  function setUp(section) {
    var data = section.dataset;
    var button = section.querySelector(".voice-record");
    var cancel = section.querySelector(".voice-cancel");
    var status = section.querySelector(".voice-status");
    var maxSeconds = Number(data.maxSeconds) || 60;
    var recorder = null, stream = null, chunks = [], startedAt = 0, pressedAt = 0;
    var tapMode = false, starting = false, discard = false, ticker = null, limitTimer = null;
    var chosen = null;

    if (!window.MediaRecorder || !navigator.mediaDevices || !(chosen = chooseType())) return;
    section.querySelector(".voice-unavailable").hidden = true;
    section.querySelector(".voice-controls").hidden = false;

    function say(text) { status.textContent = text; }
    function label(text) { button.textContent = text; }

    function reset() {
      clearInterval(ticker);
      clearTimeout(limitTimer);
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      recorder = stream = null;
      tapMode = false;
      button.setAttribute("aria-pressed", "false");
      cancel.hidden = true;
      label(data.labelHold);
    }

    async function start() {
      if (recorder || starting) return;
      starting = true;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      } catch (error) {
        starting = tapMode = false;
        say(data.statusNoMicrophone);
        return;
      }
      starting = false;
      chunks = [];
      discard = false;
      recorder = new MediaRecorder(stream, { mimeType: chosen[0] });
      recorder.ondataavailable = function (event) { if (event.data.size) chunks.push(event.data); };
      recorder.onstop = finish;
      recorder.start(250);
      startedAt = Date.now();
      button.setAttribute("aria-pressed", "true");
      cancel.hidden = false;
      label(tapMode ? data.labelTapSend : data.labelRelease);
      var tick = function () {
        var seconds = Math.floor((Date.now() - startedAt) / 1000);
        say(fill(data.statusRecording, { seconds: seconds, limit: maxSeconds }));
      };
      tick();
      ticker = setInterval(tick, 500);
      limitTimer = setTimeout(stop, maxSeconds * 1000 - 100);
    }

    function stop() {
      if (recorder && recorder.state !== "inactive") recorder.stop();
    }

    async function finish() {
      var lasted = Date.now() - startedAt;
      var type = recorder.mimeType || chosen[0];
      reset();
      if (discard) return say(data.statusCancelled);
      if (lasted < SHORTEST_MS) return say(data.statusTooShort);
      say(data.statusSending);
      var clip = new Blob(chunks, { type: type.split(";")[0] });
      var headers = { "X-CSRF-Token": data.csrf };
      try {
        var form = new FormData();
        form.append("file", clip, chosen[1]);
        var uploaded = await fetch(data.uploadUrl, {
          method: "POST", body: form, headers: headers, credentials: "same-origin",
        });
        if (!uploaded.ok) return say(await problemDetail(uploaded, data.statusFailed));
        var file = await uploaded.json();
        var sent = await fetch(data.sendUrl, {
          method: "POST",
          body: JSON.stringify({ file_id: file.id }),
          headers: Object.assign({ "Content-Type": "application/json" }, headers),
          credentials: "same-origin",
        });
        if (!sent.ok) return say(await problemDetail(sent, data.statusFailed));
        var message = await sent.json();
        say(data.statusSent);
        section.dispatchEvent(new CustomEvent("voice:sent", { bubbles: true, detail: message }));
      } catch (error) {
        say(data.statusFailed);
      }
    }

    button.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      if (tapMode) return; // the click that follows sends
      pressedAt = Date.now();
      start();
    });
    function release() {
      if (tapMode) return;
      if (!recorder) {
        if (starting) tapMode = true; // let go while the browser asked for the microphone
        return;
      }
      if (Date.now() - pressedAt < TAP_MS) {
        tapMode = true; // a tap: keep recording until the next tap
        label(data.labelTapSend);
      } else {
        stop();
      }
    }
    button.addEventListener("pointerup", release);
    button.addEventListener("pointercancel", release);
    button.addEventListener("pointerleave", release);
    button.addEventListener("click", function (event) {
      // a tap in tap mode, or the keyboard (Enter or Space): start, then send
      if (event.detail === 0 && !recorder && !starting) {
        tapMode = true;
        start();
      } else if (tapMode && Date.now() - pressedAt >= TAP_MS) {
        stop();
      }
    });
    button.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    cancel.addEventListener("click", function () {
      discard = true;
      stop();
    });
  }

  function setUpAll() {
    document.querySelectorAll("[data-voice-recorder]").forEach(function (section) {
      if (!section.dataset.voiceReady) {
        section.dataset.voiceReady = "1";
        setUp(section);
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUpAll);
  else setUpAll();
  document.addEventListener("htmx:load", setUpAll);
})();
