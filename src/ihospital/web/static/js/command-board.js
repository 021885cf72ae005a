// The command centre's board learns of new and changed alerts as they happen
// (/ws/command-centre, docs/realtime.md). Progressive enhancement only: the page is complete
// without it, and a reload shows the same. A change is announced and the board reloads, so the
// rows, their forms and their translations always come from the server.
(function () {
  "use strict";
  var board = document.querySelector("[data-live-board]");
  var live = document.getElementById("board-live");
  if (!board || !live || !("WebSocket" in window) || !window.liveFeed) {
    return;
  }
  var after = Number(board.getAttribute("data-after")) || 0;
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

  window.liveFeed(board.getAttribute("data-live-board"), after, "alert", function (frame) {
    changed(frame.alert);
  });
})();
