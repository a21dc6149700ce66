// Keyboard use of the console: j/k move through a list, Enter opens the
// selected escalation, n claims the next one, c jumps to the comment box,
// a to the hand-off, ? lists them all. Everything also works without this
// script.
(function () {
  "use strict";
  var selected = -1;
  function rows() { return document.querySelectorAll("[data-list] tbody tr"); }
  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    if (selected >= 0 && all[selected]) { all[selected].classList.remove("selected"); }
    selected = index;
    all[selected].classList.add("selected");
    all[selected].scrollIntoView({ block: "nearest" });
  }
  var overlay = document.getElementById("shortcuts");
  var returnFocus = null;
  function toggleShortcuts(show) {
    if (!overlay) { return; }
    if (show) {
      returnFocus = document.activeElement;
      overlay.hidden = false;
      overlay.querySelector("[data-close]").focus();
    } else if (!overlay.hidden) {
      overlay.hidden = true;
      if (returnFocus) { returnFocus.focus(); }
    }
  }
  if (overlay) {
    overlay.querySelector("[data-close]").addEventListener("click", function () { toggleShortcuts(false); });
  }
  function focusField(id) {
    var field = document.getElementById(id);
    if (field) { field.focus(); return true; }
    return false;
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape") { toggleShortcuts(false); return; }
    if (target.closest && target.closest("input, textarea, select")) { return; }
    if (event.key === "?") { toggleShortcuts(overlay && overlay.hidden); }
    else if (event.key === "j") { select(selected + 1); }
    else if (event.key === "k") { select(selected - 1); }
    else if (event.key === "Enter" && selected >= 0) {
      var link = rows()[selected].querySelector("a");
      if (link) { link.click(); }
    } else if (event.key === "c") {
      if (focusField("comment")) { event.preventDefault(); }
    } else if (event.key === "a") {
      if (focusField("handoff-to")) { event.preventDefault(); }
    } else if (event.key === "n") {
      var claim = document.querySelector("button[data-key=n]");
      if (claim) { claim.click(); }
    } else { return; }
  });
})();
