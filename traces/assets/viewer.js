// Moves a cursor over the steps: the list, the diagram and the state panel follow it.
(function () {
  "use strict";
  var last = parseInt(document.body.getAttribute("data-steps"), 10);
  var current = 0;
  // the key-steps-only view: the initial state and the steps it shows
  var shown = [0].concat((document.body.getAttribute("data-shown") || "").split(" ")
    .filter(function (x) { return x !== ""; }).map(function (x) { return parseInt(x, 10); }));
  var keyonly = document.getElementById("keyonly");
  function folded() { return document.body.classList.contains("keyonly"); }
  // the next step the view shows from current, in direction dir (+1 or -1)
  function move(dir) {
    if (!folded()) { return current + dir; }
    var seq = dir > 0 ? shown : shown.slice().reverse();
    for (var i = 0; i < seq.length; i++) {
      if ((seq[i] - current) * dir > 0) { return seq[i]; }
    }
    return current;
  }
  function mark(selector, n) {
    document.querySelectorAll(selector).forEach(function (el) {
      el.classList.toggle("current", parseInt(el.getAttribute("data-step"), 10) === n);
    });
  }
  function show(n) {
    current = Math.max(0, Math.min(last, n));
    mark("#list li", current);
    mark("#chart g.step", current);
    mark("#keychart g.step", current);
    mark(".state", current);
    document.getElementById("position").textContent = "state " + current + " of " + last;
    var li = document.getElementById("li-" + current);
    if (li && li.scrollIntoView) { li.scrollIntoView({block: "nearest"}); }
    var g = document.getElementById("svg-step-" + current);
    if (g && g.scrollIntoView) { g.scrollIntoView({block: "nearest"}); }
    if (history.replaceState) { history.replaceState(null, "", "#step=" + current); }
  }
  document.querySelectorAll("#list li[data-step], #chart g.step, #keychart g.step").forEach(function (el) {
    el.addEventListener("click", function () { show(parseInt(el.getAttribute("data-step"), 10)); });
  });
  document.querySelectorAll("#why a[data-goto]").forEach(function (el) {
    el.addEventListener("click", function (ev) {
      show(parseInt(el.getAttribute("data-goto"), 10)); ev.preventDefault();
    });
  });
  if (keyonly) {
    keyonly.addEventListener("change", function () {
      document.body.classList.toggle("keyonly", keyonly.checked);
      if (keyonly.checked && shown.indexOf(current) < 0) {
        show(move(1) === current ? move(-1) : move(1));  // off a folded step
      }
    });
  }
  document.getElementById("prev").addEventListener("click", function () { show(move(-1)); });
  document.getElementById("next").addEventListener("click", function () { show(move(1)); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown" || ev.key === "ArrowRight" || ev.key === "j") { show(move(1)); ev.preventDefault(); }
    if (ev.key === "ArrowUp" || ev.key === "ArrowLeft" || ev.key === "k") { show(move(-1)); ev.preventDefault(); }
  });
  var m = /step=(\d+)/.exec(location.hash);
  show(m ? parseInt(m[1], 10) : parseInt(document.body.getAttribute("data-failing"), 10));
})();
