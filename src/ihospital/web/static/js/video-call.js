// The video call of a consultation (WebRTC; signalling over the consultation's socket,
// docs/realtime.md). The doctor presses "start": camera and microphone, an offer; the patient's
// page rings and the patient answers; either side hangs up. The media flows between the two
// browsers. The connection's state is kept on #video-call as data-connection-state, the call's
// as data-call-state (idle, calling, ringing, connecting, connected, ended).
(function () {
  "use strict";
  var root = document.getElementById("video-call");
  if (!root) {
    return;
  }
  var side = root.getAttribute("data-side");
  var iceServers = JSON.parse(root.getAttribute("data-ice-servers") || "[]");
  var status = document.getElementById("call-status");
  var localVideo = document.getElementById("local-video");
  var remoteVideo = document.getElementById("remote-video");
  var startButton = document.getElementById("call-start");
  var answerButton = document.getElementById("call-answer");
  var hangupButton = document.getElementById("call-hangup");
  var socket = null;
  var peer = null;
  var stream = null;
  var offer = null; // the doctor's offer, waiting for the patient to answer
  var pending = []; // candidates that arrived before the other side's description

  function text(name) {
    return root.getAttribute("data-text-" + name) || "";
  }

  function show(callState, message) {
    root.setAttribute("data-call-state", callState);
    status.textContent = message || text(callState);
    hangupButton.hidden = ["calling", "connecting", "connected"].indexOf(callState) < 0;
    if (answerButton) {
      answerButton.hidden = callState !== "ringing";
    }
    if (startButton) {
      startButton.disabled = !socket || ["idle", "ended"].indexOf(callState) < 0;
    }
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
    }
  }

  function stop() {
    if (peer) {
      peer.close();
      root.setAttribute("data-connection-state", "closed");
    }
    if (stream) {
      stream.getTracks().forEach(function (track) { track.stop(); });
    }
    peer = null;
    stream = null;
    offer = null;
    pending = [];
    localVideo.srcObject = null;
    remoteVideo.srcObject = null;
  }

  function openPeer() {
    peer = new RTCPeerConnection({ iceServers: iceServers });
    root.setAttribute("data-connection-state", peer.connectionState);
    peer.onicecandidate = function (event) {
      if (event.candidate && event.candidate.candidate) {
        send({ type: "call.ice", candidate: event.candidate.toJSON() });
      }
    };
    peer.ontrack = function (event) {
      remoteVideo.srcObject = event.streams[0];
    };
    peer.onconnectionstatechange = function () {
      if (!peer) {
        return;
      }
      root.setAttribute("data-connection-state", peer.connectionState);
      if (peer.connectionState === "connected") {
        show("connected");
      } else if (peer.connectionState === "failed") {
        show("connected", text("failed"));
      }
    };
    stream.getTracks().forEach(function (track) { peer.addTrack(track, stream); });
  }

  function media() {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: true }).then(function (got) {
      stream = got;
      localVideo.srcObject = got;
    });
  }

  function addPending() {
    pending.forEach(function (candidate) { peer.addIceCandidate(candidate); });
    pending = [];
  }

  function failed() {
    stop();
    show("idle", text("no-camera"));
  }

  function start() {
    show("calling");
    media().then(function () {
      openPeer();
      return peer.createOffer();
    }).then(function (description) {
      return peer.setLocalDescription(description);
    }).then(function () {
      send({ type: "call.offer", sdp: peer.localDescription.sdp });
    }).catch(failed);
  }

  function answer() {
    var sdp = offer;
    show("connecting");
    media().then(function () {
      openPeer();
      return peer.setRemoteDescription({ type: "offer", sdp: sdp });
    }).then(function () {
      addPending();
      return peer.createAnswer();
    }).then(function (description) {
      return peer.setLocalDescription(description);
    }).then(function () {
      send({ type: "call.answer", sdp: peer.localDescription.sdp });
    }).catch(failed);
  }

  function hangUp() {
    send({ type: "call.hangup" });
    stop();
    show("ended");
  }

  function receive(frame) {
    if (frame.type === "error") {
      if (frame.code && frame.code.indexOf("consultation.") === 0) {
        stop();
        show("ended", text("refused") + " " + frame.detail);
      }
      return;
    }
    if (!frame.side || frame.side === side) {
      return; // a chat item, or our own frame coming back
    }
    if (frame.type === "call.offer" && side === "patient") {
      stop();
      offer = frame.sdp;
      show("ringing");
    } else if (frame.type === "call.answer" && peer) {
      show("connecting");
      peer.setRemoteDescription({ type: "answer", sdp: frame.sdp }).then(addPending);
    } else if (frame.type === "call.ice") {
      if (peer && peer.remoteDescription) {
        peer.addIceCandidate(frame.candidate);
      } else {
        pending.push(frame.candidate);
      }
    } else if (frame.type === "call.hangup") {
      stop();
      show("ended");
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.getAttribute("data-socket"));
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "ping") {
        send({ type: "pong" });
      } else if (frame.type === "ready") {
        show(root.getAttribute("data-call-state"));
      } else {
        receive(frame);
      }
    };
    socket.onclose = function () {
      socket = null;
      if (peer) {
        stop();
        show("ended");
      }
    };
  }

  if (!("RTCPeerConnection" in window) || !navigator.mediaDevices) {
    return; // the page says what it needs
  }
  if (startButton) {
    startButton.addEventListener("click", start);
  }
  if (answerButton) {
    answerButton.addEventListener("click", answer);
  }
  hangupButton.addEventListener("click", hangUp);
  window.addEventListener("pagehide", function () {
    if (peer) {
      send({ type: "call.hangup" });
    }
  });
  show("idle");
  connect();
})();
