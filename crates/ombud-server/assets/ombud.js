// Keyboard use of the console: j/k move through a list, Enter opens the
// selected escalation, n claims the next one, c jumps to the comment box.
// Everything also works without this script.
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
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target.closest && target.closest("input, textarea, select")) { return; }
    if (event.key === "j") { select(selected + 1); }
    else if (event.key === "k") { select(selected - 1); }
    else if (event.key === "Enter" && selected >= 0) {
      var link = rows()[selected].querySelector("a");
      if (link) { link.click(); }
    } else if (event.key === "c") {
      var box = document.getElementById("comment");
      if (box) { event.preventDefault(); box.focus(); }
    } else if (event.key === "n") {
      var claim = document.querySelector("button[data-key=n]");
      if (claim) { claim.click(); }
    } else { return; }
  });
})();
