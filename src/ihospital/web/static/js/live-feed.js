// A live feed of stored items over a WebSocket (docs/realtime.md): the socket resumes after the
// last item id seen, answers the server's pings and reconnects with a growing pause, except when
// it was refused for the account (4401 signed out, 4403 not allowed: a reload says why).
// liveFeed(path, after, type, show) calls show(frame) for each frame of that type.
window.liveFeed = function (path, after, type, show) {
  "use strict";
  var retryMs = 1000;

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + path + "?after=" + after);
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (frame.type === "ready") {
        retryMs = 1000;
      } else if (frame.type === type) {
        after = Math.max(after, frame.id);
        show(frame);
      }
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403) {
        return;
      }
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  connect();
};
