// The inbox's first page shows new messages as they arrive (/ws/notifications, docs/realtime.md).
// Progressive enhancement only: without this file the page is complete, and a reload shows new
// messages. The texts come translated from the page (its <template> and data attributes).
(function () {
  "use strict";
  var list = document.querySelector("[data-live-inbox]");
  var template = document.getElementById("inbox-item");
  if (!list || !template || !("WebSocket" in window) || !window.liveFeed) {
    return;
  }
  var after = Number(list.getAttribute("data-after")) || 0;
  var unread = Number(list.getAttribute("data-unread")) || 0;

  function showUnread() {
    var summary = document.getElementById("inbox-summary");
    if (summary) {
      summary.textContent = list.getAttribute("data-unread-text").replace("{count}", unread);
    }
  }

  function show(message) {
    if (document.getElementById("message-" + message.id)) {
      return; // already on the page
    }
    var item = template.content.firstElementChild.cloneNode(true);
    item.id = "message-" + message.id;
    var link = item.querySelector("h2 a");
    var plain = item.querySelector("h2 span:last-child");
    if (message.link && message.link.charAt(0) === "/" && message.link.charAt(1) !== "/") {
      link.setAttribute("href", message.link);
      link.textContent = message.title;
      plain.remove();
    } else {
      plain.textContent = message.title;
      link.remove();
    }
    item.querySelector("h2 + p").textContent = message.body;
    var time = item.querySelector("time");
    var created = new Date(message.created_at);
    time.setAttribute("datetime", message.created_at);
    time.textContent = created.toLocaleString(document.documentElement.lang || "zh-CN", {
      timeZone: "Asia/Shanghai",
      hour12: false
    });
    item.querySelector("form").setAttribute("action", "/inbox/" + message.id + "/read");
    list.insertBefore(item, list.firstChild);
    var empty = document.getElementById("inbox-empty");
    if (empty) {
      empty.remove();
    }
    if (!message.is_read) {
      unread += 1;
      showUnread();
    }
  }

  window.liveFeed(list.getAttribute("data-live-inbox"), after, "notification", function (frame) {
    show(frame.message);
  });
})();
