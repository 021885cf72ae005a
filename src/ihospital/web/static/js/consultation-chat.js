// A consultation's chat, live (docs/realtime.md "The consultation chat"): one WebSocket per open
// page resumes after the last message shown, brings new messages, read receipts and typing
// signals, and sends typed messages; it reconnects with a growing pause. Progressive enhancement
// only: without this file the page's form posts and the page reloads itself. Texts come
// translated from the page (data-label-* attributes of #chat).
(function () {
  "use strict";
  var chat = document.getElementById("chat");
  if (!chat || !chat.getAttribute("data-chat-socket") || !("WebSocket" in window)) {
    return;
  }
  var list = chat.querySelector(".chat-messages");
  var form = chat.querySelector("form.chat-form");
  var input = form ? form.querySelector("textarea[name=text]") : null;
  var typingLine = chat.querySelector(".chat-typing");
  var statusLine = chat.querySelector(".chat-status");
  var side = chat.getAttribute("data-side");
  var after = Number(chat.getAttribute("data-after")) || 0;
  var readSent = 0;
  var retryMs = 1000;
  var socket = null;
  var typingTimer = null;
  var lastTypingSent = 0;

  function label(name) {
    return chat.getAttribute("data-label-" + name) || "";
  }

  function showStatus(text) {
    statusLine.textContent = text;
    statusLine.hidden = !text;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function localTime(iso) {
    return new Date(iso).toLocaleString(document.documentElement.lang || "zh-CN", {
      timeZone: "Asia/Shanghai",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hour12: false
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function timeOf(message) {
    var time = element("time", "", localTime(message.created_at));
    time.setAttribute("datetime", message.created_at);
    return time;
  }

  function attachment(message) {
    var href = "/api/files/" + Number(message.file_id) + "/content";
    if (message.kind === "image") {
      var link = element("a", "chat-image");
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener";
      var image = element("img");
      image.src = href;
      image.alt = label("picture");
      image.width = 160;
      link.appendChild(image);
      return link;
    }
    if (message.kind === "voice") {
      var audio = element("audio", "chat-voice");
      audio.controls = true;
      audio.preload = "none";
      audio.src = href;
      return audio;
    }
    var file = element("a", "chat-file", label("file"));
    file.href = href;
    return file;
  }

  function render(message) {
    var mine = message.sender_role === side;
    var item = element("li", "chat-message from-" + message.sender_role + (mine ? " mine" : ""));
    item.id = "chat-message-" + message.id;
    item.setAttribute("data-id", message.id);
    item.setAttribute("data-sender", message.sender_role);
    if (message.kind === "system") {
      var notice = element("p", "chat-notice", message.text + " ");
      notice.appendChild(timeOf(message));
      item.appendChild(notice);
      return item;
    }
    var meta = element("p", "chat-meta");
    meta.appendChild(element("span", "chat-who", label(mine ? "you" : message.sender_role)));
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(timeOf(message));
    item.appendChild(meta);
    if (message.text) {
      item.appendChild(element("p", "chat-text", message.text));
    }
    if (message.file_id) {
      item.appendChild(attachment(message));
    }
    if (mine) {
      var read = Boolean(message.read_at);
      item.appendChild(element("span", "chat-receipt " + (read ? "is-read" : "is-unread"),
        label(read ? "read" : "unread")));
    }
    return item;
  }

  function show(message) {
    after = Math.max(after, message.id);
    if (document.getElementById("chat-message-" + message.id)) {
      return;
    }
    list.appendChild(render(message));
    var empty = chat.querySelector(".chat-empty");
    if (empty) {
      empty.remove();
    }
    if (message.sender_role !== side) {
      typingLine.hidden = true;
    }
    list.lastElementChild.scrollIntoView({ block: "nearest" });
    sendRead();
  }

  // Read receipts: the other side's messages count as read once the page is in view.
  function newestFromOtherSide() {
    var items = list.querySelectorAll("li[data-sender]");
    for (var i = items.length - 1; i >= 0; i -= 1) {
      var sender = items[i].getAttribute("data-sender");
      if (sender !== side && sender !== "system") {
        return Number(items[i].getAttribute("data-id"));
      }
    }
    return 0;
  }

  function sendRead() {
    var upTo = newestFromOtherSide();
    if (upTo > readSent && document.visibilityState === "visible" &&
      send({ type: "read", up_to: upTo })) {
      readSent = upTo;
      var markForm = chat.querySelector(".chat-mark-read");
      if (markForm) {
        markForm.hidden = true; // read now: the page's own button is not needed
      }
    }
  }

  function showRead(upTo) {
    var receipts = list.querySelectorAll("li.mine .chat-receipt.is-unread");
    for (var i = 0; i < receipts.length; i += 1) {
      var item = receipts[i].parentNode;
      if (Number(item.getAttribute("data-id")) <= upTo) {
        receipts[i].className = "chat-receipt is-read";
        receipts[i].textContent = label("read");
      }
    }
  }

  function showTyping() {
    typingLine.textContent = label("typing");
    typingLine.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () {
      typingLine.hidden = true;
    }, 4000);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + chat.getAttribute("data-chat-socket") +
      "?after=" + after);
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "ping") {
        send({ type: "pong" });
      } else if (frame.type === "ready") {
        retryMs = 1000;
        showStatus("");
        sendRead();
      } else if (frame.type === "message") {
        show(frame.message);
      } else if (frame.type === "read" && frame.side !== side) {
        showRead(frame.up_to);
      } else if (frame.type === "typing" && frame.side !== side) {
        showTyping();
      } else if (frame.type === "error") {
        showStatus(frame.detail || "");
      }
    };
    socket.onclose = function (event) {
      socket = null;
      if (event.code === 4401 || event.code === 4403) {
        return; // signed out or not allowed: the page itself says so on reload
      }
      showStatus(label("offline"));
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 30000);
    };
  }

  if (form && input) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (submitter && submitter.classList.contains("quick-reply")) {
        event.preventDefault(); // a quick reply fills the box; the doctor still sends it
        input.value = input.value ? input.value + "\n" + submitter.getAttribute("data-phrase")
          : submitter.getAttribute("data-phrase");
        input.focus();
        return;
      }
      var file = form.querySelector("input[type=file]");
      if (file && file.files && file.files.length) {
        return; // an attachment goes with the form, as without JavaScript
      }
      var text = input.value.trim();
      if (!text) {
        event.preventDefault();
        input.focus();
        return;
      }
      if (send({ type: "message", text: text })) {
        event.preventDefault();
        input.value = "";
        showStatus("");
      } // else the socket is down: the form posts
    });
    input.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTypingSent > 2500 && send({ type: "typing" })) {
        lastTypingSent = now;
      }
    });
  }
  document.addEventListener("visibilitychange", sendRead);
  connect();
})();
