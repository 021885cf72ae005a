// The medical record form searches ICD-10 diagnoses as the doctor types (GET /api/icd10) and
// adds the one picked as a ticked diagnosis. Progressive enhancement only: without this file the
// form's search button posts the form and the page lists the matches to tick.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-record-form]");
  Array.prototype.forEach.call(forms, function (form) {
    var input = form.querySelector("[data-icd-search]");
    var results = form.querySelector("[data-icd-results]");
    var chosen = form.querySelector("[data-chosen]");
    var timer = null;
    var asked = 0;
    if (!input || !results || !chosen || !window.fetch) {
      return;
    }

    function choose(row) {
      if (form.querySelector("input[name=diagnoses][value='" + row.code + "']")) {
        form.querySelector("input[name=diagnoses][value='" + row.code + "']").checked = true;
      } else {
        var item = document.createElement("li");
        var label = document.createElement("label");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.name = "diagnoses";
        box.value = row.code;
        box.checked = true;
        var code = document.createElement("span");
        code.className = "badge";
        code.textContent = row.code;
        label.appendChild(box);
        label.appendChild(document.createTextNode(" "));
        label.appendChild(code);
        label.appendChild(document.createTextNode(" " + row.name_zh));
        item.appendChild(label);
        chosen.appendChild(item);
      }
      results.textContent = "";
      input.value = "";
      input.focus();
    }

    function show(rows) {
      results.textContent = "";
      rows.forEach(function (row) {
        var item = document.createElement("li");
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn";
        button.textContent = row.code + " " + row.name_zh;
        button.addEventListener("click", function () {
          choose(row);
        });
        item.appendChild(button);
        results.appendChild(item);
      });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      var query = input.value.trim();
      if (!query) {
        results.textContent = "";
        return;
      }
      timer = setTimeout(function () {
        var ask = ++asked;
        fetch("/api/icd10?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (response) {
            return response.ok ? response.json() : [];
          })
          .then(function (rows) {
            if (ask === asked) {
              show(rows);
            }
          })
          .catch(function () {});
      }, 300);
    });
    input.addEventListener("keydown", function (event) {
      var first = results.querySelector("button");
      if (event.key === "Enter" && first) {
        event.preventDefault(); // pick the first match rather than post the form
        first.click();
      }
    });
  });
})();
