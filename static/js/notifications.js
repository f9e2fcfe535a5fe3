// The bell's unread count: read on load, then every minute while the page is visible.
(function () {
  "use strict";
  var bell = document.querySelector(".bell[data-unread-url]");
  if (!bell) return;
  var badge = bell.querySelector(".bell-count");

  function show(count) {
    if (count > 0) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = false;
      bell.setAttribute("aria-label", "Notifications: " + count + " unread");
      bell.classList.add("bell-unread");
    } else {
      badge.hidden = true;
      bell.setAttribute("aria-label", "Notifications");
      bell.classList.remove("bell-unread");
    }
  }

  function refresh() {
    fetch(bell.getAttribute("data-unread-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && typeof data.unread === "number") show(data.unread); })
      .catch(function () { /* offline: keep what is shown */ });
  }

  refresh();
  setInterval(function () { if (!document.hidden) refresh(); }, 60000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
})();
