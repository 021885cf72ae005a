// Suggestions while typing in the symptom box (智能导诊). Progressive enhancement only: the form
// posts without this file. The last word typed is sent to the suggestions endpoint; tapping a
// suggestion puts the lexicon's word in its place.
(function () {
  var box = document.querySelector("textarea[data-suggest]");
  if (!box || !window.fetch) { return; }
  var list = document.getElementById(box.getAttribute("data-suggest-list"));
  var timer = null;
  var asked = "";

  function lastWord() {
    var parts = box.value.split(/[\s,，。;；、!！?？]+/);
    return parts[parts.length - 1];
  }

  function show(items, typed) {
    list.innerHTML = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn";
      button.textContent = item.text === item.term ? item.text : item.text + " · " + item.term;
      button.addEventListener("click", function () {
        box.value = box.value.slice(0, box.value.length - typed.length) + item.text + "，";
        list.hidden = true;
        box.focus();
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    list.hidden = items.length === 0;
  }

  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var typed = lastWord().slice(-20);
      if (!typed || typed === asked) { if (!typed) { list.hidden = true; } return; }
      asked = typed;
      fetch(box.getAttribute("data-suggest") + "?q=" + encodeURIComponent(typed), {
        headers: { "Accept": "application/json" }, credentials: "same-origin"
      }).then(function (response) {
        return response.ok ? response.json() : [];
      }).then(function (items) {
        if (typed === asked) { show(items, typed); }
      }).catch(function () { list.hidden = true; });
    }, 200);
  });
})();
