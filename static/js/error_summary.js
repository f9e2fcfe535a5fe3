// After a failed submit, move the focus to the form's error summary so a screen reader reads it first,
// and let its links focus the field they name (a fragment link alone only scrolls), as GOV.UK does.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var summaries = document.querySelectorAll("[data-error-summary]");
    if (!summaries.length) return;
    summaries[0].focus();
    summaries.forEach(function (summary) {
      summary.addEventListener("click", function (event) {
        var link = event.target.closest("a[href^='#']");
        if (!link) return;
        var field = document.getElementById(link.getAttribute("href").slice(1));
        if (!field) return;
        event.preventDefault();
        var panel = field.closest("details");
        if (panel) panel.open = true;
        field.scrollIntoView({ block: "center" });
        field.focus();
      });
    });
  });
})();
