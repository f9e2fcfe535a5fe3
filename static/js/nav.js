// The phone menu's button, "/" jumping to the header's search, and Escape closing whatever is open
// (the menu, a dropdown).
// Without JavaScript the button stays hidden and the menu stays open: every link is still reachable.
(function () {
  "use strict";
  var topbar = document.querySelector(".topbar");
  var toggle = topbar && topbar.querySelector(".nav-toggle");

  function setOpen(open) {
    topbar.classList.toggle("menu-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  if (toggle) {
    topbar.classList.add("has-menu-toggle");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      setOpen(toggle.getAttribute("aria-expanded") !== "true");
    });
  }

  var search = document.getElementById("topbar-q");

  function typingInto(element) {
    return element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "/" && search && !event.ctrlKey && !event.metaKey && !event.altKey && !typingInto(event.target)) {
      event.preventDefault();
      if (toggle && !search.offsetParent) setOpen(true);
      search.focus();
      search.select();
      return;
    }
    if (event.key !== "Escape") return;
    var dropdown = document.activeElement && document.activeElement.closest("details[open]");
    var openDropdowns = document.querySelectorAll("details.dropdown[open]");
    if (dropdown || openDropdowns.length) {
      var target = dropdown || openDropdowns[openDropdowns.length - 1];
      target.open = false;
      target.querySelector("summary").focus();
      return;
    }
    if (toggle && toggle.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      toggle.focus();
    }
  });
})();
