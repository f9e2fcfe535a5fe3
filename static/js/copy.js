// Copy buttons: <button data-copy="#element-id" hidden>, and one per code block
// inside an element marked data-copy-blocks. Without JavaScript there are no
// buttons and the values can still be selected by hand.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain HTTP (a local install): fall back to a temporary selection.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  function announce(button, label) {
    var original = button.dataset.label || button.textContent;
    button.dataset.label = original;
    button.textContent = label;
    window.clearTimeout(button._copyTimer);
    button._copyTimer = window.setTimeout(function () { button.textContent = original; }, 1800);
  }

  // Code blocks of setup instructions get their own copy button.
  document.querySelectorAll("[data-copy-blocks] pre").forEach(function (pre, index) {
    if (!pre.id) { pre.id = "code-block-" + (index + 1); }
    // A long line makes the block scroll sideways: keyboard users scroll it once it can take focus.
    pre.tabIndex = 0;
    var wrapper = document.createElement("div");
    wrapper.className = "code-block";
    pre.parentNode.insertBefore(wrapper, pre);
    wrapper.appendChild(pre);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-small code-copy";
    button.textContent = "Copy";
    button.setAttribute("data-copy", "#" + pre.id);
    button.setAttribute("aria-label", "Copy this block");
    wrapper.appendChild(button);
  });

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) { return; }
    button.hidden = false;
    button.setAttribute("aria-live", "polite");
    button.addEventListener("click", function () {
      copyText(target.textContent.trim()).then(
        function () { announce(button, "Copied"); },
        function () {
          var range = document.createRange();
          range.selectNodeContents(target);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          announce(button, "Press Ctrl+C");
        }
      );
    });
  });
})();
