// The command centre's board learns of new and changed alerts as they happen
// (/ws/command-centre, docs/realtime.md). Progressive enhancement only: the page is complete
// without it, and a reload shows the same. A change is announced and the board reloads, so the
// rows, their forms and their translations always come from the server.
(function () {
  "use strict";
  var board = document.querySelector("[data-live-board]");
  var live = document.getElementById("board-live");
  if (!board || !live || !("WebSocket" in window)) {
    return;
  }
  var after = Number(board.getAttribute("data-after")) || 0;
  var retryMs = 1000;
  var reload = null;

  function changed(alert) {
    if (!document.getElementById("alert-" + alert.alert_id) || alert.status === "new") {
      live.textContent = board.getAttribute("data-new-text").replace("{region}", alert.region_code);
    }
    var typing = document.activeElement && document.activeElement.tagName === "INPUT";
    if (!typing && reload === null) {
      reload = setTimeout(function () { location.reload(); }, 1500);
    }
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + board.getAttribute("data-live-board") +
      "?after=" + after);
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "ping") {
        socket.send(JSON.stringify({ type: "pong" }));
      } else if (frame.type === "ready") {
        retryMs = 1000;
      } else if (frame.type === "alert") {
        after = Math.max(after, frame.id);
        changed(frame.alert);
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
})();
