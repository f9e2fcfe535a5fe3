// A second chance before a destructive form is sent: forms with data-confirm open a <dialog>.
// Without JavaScript the form goes to the server, which answers with a confirmation page instead.
(function () {
  "use strict";
  var dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.innerHTML =
      '<form method="dialog"><h2 id="confirm-dialog-title"></h2><p class="confirm-dialog-detail"></p>' +
      '<div class="actions"><button class="btn btn-danger" value="yes"></button>' +
      '<button class="btn btn-quiet" value="no">Cancel</button></div></form>';
    document.body.appendChild(dialog);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-confirm]") || form.querySelector("input[name=confirm]")) return;
    if (typeof HTMLDialogElement === "undefined") return; // the server asks instead
    event.preventDefault();
    if (!dialog) build();
    dialog.querySelector("h2").textContent = form.dataset.confirm;
    dialog.querySelector(".confirm-dialog-detail").textContent = form.dataset.confirmDetail || "";
    var yes = dialog.querySelector("button[value=yes]");
    yes.textContent = form.dataset.confirmButton || "Yes";
    dialog.onclose = function () {
      if (dialog.returnValue !== "yes") return;
      var confirm = document.createElement("input");
      confirm.type = "hidden";
      confirm.name = "confirm";
      confirm.value = "yes";
      form.appendChild(confirm);
      form.submit();
    };
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("button[value=no]").focus();
  });
})();
