/* On a phone, fold the incident filters away unless some are in use. */
(function () {
  var more = document.querySelector(".more-filters");
  if (!more || !window.matchMedia("(max-width: 700px)").matches) { return; }
  if (more.getAttribute("data-active-count") === "0") { more.open = false; }
})();
