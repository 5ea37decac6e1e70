// Portico's progressive enhancement, beside htmx (vendored, configured in base.html
// for a strict CSP: no eval, no script tags, no inline styles). Every page works
// without it: it announces live thread updates, adds screenshots pasted or dropped
// into a form's file input, and keyboard shortcuts. No inline code anywhere.
(function () {
  "use strict";

  // Live thread: htmx's SSE extension reloads the thread when the server says the
  // ticket changed (ticket.html); tell screen readers it did.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.target || event.target.id !== "live-thread") { return; }
    var status = document.getElementById("live-status");
    if (status) { status.textContent = status.getAttribute("data-updated"); }
  });

  // Screenshots: paste into the form, or drop files on its drop zone.
  document.querySelectorAll("form[data-files]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    if (!input || !window.DataTransfer) { return; }
    var list = form.querySelector("[data-file-list]");
    function add(files) {
      var transfer = new DataTransfer();
      Array.prototype.forEach.call(input.files, function (f) { transfer.items.add(f); });
      Array.prototype.forEach.call(files, function (f, i) {
        var name = f.name && f.name !== "image.png" ? f.name :
          "screenshot-" + new Date().toISOString().replace(/[:.]/g, "-") + "-" + i + ".png";
        transfer.items.add(new File([f], name, { type: f.type }));
      });
      input.files = transfer.files;
      if (list) {
        list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
      }
    }
    form.addEventListener("paste", function (event) {
      var files = event.clipboardData && event.clipboardData.files;
      if (files && files.length) { event.preventDefault(); add(files); }
    });
    var zone = form.querySelector(".drop") || form;
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      if (event.dataTransfer && event.dataTransfer.files.length) { add(event.dataTransfer.files); }
    });
    input.addEventListener("change", function () {
      if (list) {
        list.textContent = Array.prototype.map.call(input.files, function (f) { return f.name; }).join(", ");
      }
    });
  });

  // Shortcuts: "/" searches, "r" replies, "n" opens a new ticket (not while typing).
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = null;
    if (event.key === "/") { target = document.querySelector("input[type=search]"); }
    if (event.key === "r") { target = document.getElementById("reply-body"); }
    if (target) { event.preventDefault(); target.focus(); return; }
    if (event.key === "n") {
      var link = document.querySelector("a[data-shortcut=new]");
      if (link) { event.preventDefault(); link.click(); }
    }
  });
})();
