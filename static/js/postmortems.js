/* Post-mortem editor: live preview with the coach, autosave, extra steps and factors.
   Progressive enhancement: every form works without this file. */
(function () {
  "use strict";

  document.documentElement.classList.add("pm-js");

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, wait);
    };
  }

  function post(url, form) {
    return fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.message || "Request failed");
        return data;
      });
    });
  }

  function text(tag, className, value) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    element.textContent = value;
    return element;
  }

  function renderSummary(container, summary) {
    var list = container.querySelector("[data-coach-list]");
    var count = container.querySelector("[data-coach-count]");
    var noun = container.querySelector("[data-coach-noun]");
    if (!list || !count) return;
    count.textContent = String(summary.length);
    if (noun) noun.textContent = summary.length === 1 ? "finding" : "findings";
    var line = container.querySelector("[data-coach-line]");
    if (line) line.classList.toggle("clear", summary.length === 0);
    list.replaceChildren();
    summary.forEach(function (item) {
      var li = text("li", "pm-finding" + (item.acknowledged ? " acknowledged" : ""), "");
      var quote = text("a", "pm-finding-quote", "\u201c" + item.text + "\u201d");
      quote.href = "#" + item.anchor;
      li.appendChild(quote);
      li.appendChild(document.createTextNode(" "));
      li.appendChild(text("span", "muted small", "in " + item.section_title + " \u00b7 " + item.title));
      li.appendChild(text("p", "pm-reframe", item.reframing));
      if (item.rewrite) {
        li.appendChild(text("p", "pm-rewrite", item.rewrite));
        if (container.dataset.rewritable !== undefined) {
          var button = text("button", "btn btn-small btn-quiet pm-use-rewrite", "Use this rewrite");
          button.type = "button";
          button.setAttribute("data-use-rewrite", "");
          button.dataset.section = item.section;
          button.dataset.sentence = item.sentence;
          button.dataset.rewrite = item.rewrite;
          li.appendChild(button);
        }
      }
      list.appendChild(li);
    });
  }

  // Replace the finding's sentence with its rewrite in the field that holds it, then let the
  // editor's own input handling refresh the preview, the coach and the autosave.
  function useRewrite(form, button) {
    var sentence = button.dataset.sentence;
    var named = form.querySelector('[name="' + CSS.escape(fieldName(button.dataset.section)) + '"]');
    var fields = Array.prototype.slice.call(form.querySelectorAll("[data-coach-input]"));
    if (named) fields.unshift(named);
    for (var index = 0; index < fields.length; index += 1) {
      var field = fields[index];
      var at = field.value.indexOf(sentence);
      if (at === -1) continue;
      field.value = field.value.slice(0, at) + button.dataset.rewrite + field.value.slice(at + sentence.length);
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.focus();
      field.setSelectionRange(at, at + button.dataset.rewrite.length);
      return true;
    }
    return false;
  }

  function fieldName(section) {
    if (section === "title") return "title";
    return "section-" + section.replace(/\./g, "-");
  }

  function updateOutline(form, sections) {
    Object.keys(sections).forEach(function (key) {
      var row = document.querySelector('[data-outline="' + CSS.escape(key) + '"]');
      if (row) row.classList.toggle("filled", !!sections[key].filled);
    });
  }

  function setupEditor(form) {
    var previewUrl = form.dataset.previewUrl;
    var autosaveUrl = form.dataset.autosaveUrl;
    var status = form.querySelector("[data-autosave-status]");
    var dirty = false;

    var refresh = debounce(function () {
      post(previewUrl, form)
        .then(function (data) {
          Object.keys(data.sections).forEach(function (key) {
            var pane = form.querySelector('[data-preview-for="' + CSS.escape(key) + '"]');
            if (!pane) return;
            var section = data.sections[key];
            if (pane.classList.contains("pm-preview-steps")) {
              // Server-rendered, sanitised HTML of each step.
              pane.innerHTML = section.steps
                .map(function (step, index) {
                  if (!step.why_html && !step.because_html) return "";
                  return '<div class="pm-preview-step"><strong>' + (index + 1) + ". Why?</strong> " +
                    step.why_html + "<strong>Because</strong> " + step.because_html + "</div>";
                })
                .join("");
            } else {
              pane.innerHTML = section.html || '<p class="muted">The preview appears here.</p>';
            }
          });
          var summary = document.getElementById("coach-summary");
          if (summary) renderSummary(summary, data.summary);
          updateOutline(form, data.sections);
        })
        .catch(function () {});
    }, 450);

    var autosave = debounce(function () {
      if (!dirty || !autosaveUrl) return;
      dirty = false;
      if (status) status.textContent = "Saving draft\u2026";
      post(autosaveUrl, form)
        .then(function (data) {
          if (!status) return;
          status.textContent = data.message + (data.newer_version ? " Someone saved version " + data.newer_version + " meanwhile: saving will ask you to merge." : "");
          status.classList.remove("failed");
          status.classList.add("saved");
        })
        .catch(function (error) {
          if (!status) return;
          status.textContent = "Autosave failed: " + error.message;
          status.classList.add("failed");
        });
    }, 2000);

    var coachCard = document.getElementById("coach-summary");
    if (coachCard) {
      coachCard.addEventListener("click", function (event) {
        var button = event.target.closest("[data-use-rewrite]");
        if (!button) return;
        if (!useRewrite(form, button)) {
          button.textContent = "The sentence has changed since";
          button.disabled = true;
        }
      });
    }

    form.addEventListener("input", function () {
      dirty = true;
      refresh();
      autosave();
    });
    form.addEventListener("submit", function () {
      dirty = false;
    });

    form.querySelectorAll("[data-add-why]").forEach(function (button) {
      button.addEventListener("click", function () {
        var key = button.dataset.addWhy;
        var list = form.querySelector('[data-why-steps="' + CSS.escape(key) + '"]');
        var rows = list.parentElement.querySelector("[data-why-rows]");
        var index = parseInt(rows.value, 10) || 0;
        var item = list.lastElementChild.cloneNode(true);
        item.querySelectorAll("textarea").forEach(function (area) {
          var part = area.name.endsWith("-why") ? "why" : "because";
          area.name = "section-" + key + "-" + index + "-" + part;
          area.id = part + "-" + key + "-" + index;
          area.value = "";
        });
        item.querySelectorAll("label").forEach(function (label) {
          var part = label.htmlFor.indexOf("why-") === 0 ? "why" : "because";
          label.htmlFor = part + "-" + key + "-" + index;
        });
        list.appendChild(item);
        rows.value = String(index + 1);
        item.querySelector("textarea").focus();
      });
    });

    window.addEventListener("beforeunload", function (event) {
      if (dirty) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  }

  function setupFactorAdding(button) {
    var form = button.closest("form");
    button.addEventListener("click", function () {
      var total = form.querySelector('input[name="factors-TOTAL_FORMS"]');
      var template = form.querySelector("[data-factor-template]");
      var index = parseInt(total.value, 10) || 0;
      var holder = document.createElement("ol");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      var row = holder.firstElementChild;
      form.querySelector("[data-factor-rows]").appendChild(row);
      total.value = String(index + 1);
      var first = row.querySelector("select, textarea");
      if (first) first.focus();
    });
  }

  function setupCoachPage(form) {
    var url = form.dataset.coachUrl;
    var area = form.querySelector("textarea");
    var result = document.querySelector("[data-coach-result]");
    var list = document.querySelector("[data-coach-findings]");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var check = debounce(function () {
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token, Accept: "application/json" },
        body: JSON.stringify({ text: area.value }),
      })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (!data.findings) return;
          // Highlight on the plain text: escaped pieces between the findings' spans.
          var value = area.value;
          var cursor = 0;
          result.replaceChildren();
          var paragraph = document.createElement("p");
          data.findings.forEach(function (finding) {
            paragraph.appendChild(document.createTextNode(value.slice(cursor, finding.start)));
            var mark = text("mark", "coach coach-" + finding.rule, value.slice(finding.start, finding.end));
            mark.title = finding.title + ": " + finding.reframing;
            paragraph.appendChild(mark);
            cursor = finding.end;
          });
          paragraph.appendChild(document.createTextNode(value.slice(cursor)));
          paragraph.style.whiteSpace = "pre-wrap";
          result.appendChild(paragraph);
          list.replaceChildren();
          if (!data.findings.length) list.appendChild(text("li", "muted", "No findings: the text reads blameless."));
          data.findings.forEach(function (finding) {
            var li = text("li", "pm-finding", "");
            li.appendChild(text("span", "pm-finding-quote", "\u201c" + finding.text + "\u201d "));
            li.appendChild(text("span", "muted small", finding.title));
            li.appendChild(text("p", "small", finding.explanation));
            li.appendChild(text("p", "pm-reframe", finding.reframing));
            if (finding.rewrite) li.appendChild(text("p", "pm-rewrite", finding.rewrite));
            list.appendChild(li);
          });
        })
        .catch(function () {});
    }, 350);
    area.addEventListener("input", check);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var editor = document.getElementById("pm-editor");
    if (editor) setupEditor(editor);
    document.querySelectorAll("[data-add-factor]").forEach(setupFactorAdding);
    var coach = document.getElementById("coach-try");
    if (coach) setupCoachPage(coach);
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
