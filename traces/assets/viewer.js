// Moves a cursor over the steps: the list, the diagram and the state panel follow it.
(function () {
  "use strict";
  var last = parseInt(document.body.getAttribute("data-steps"), 10);
  var current = 0;
  function mark(selector, n) {
    document.querySelectorAll(selector).forEach(function (el) {
      el.classList.toggle("current", parseInt(el.getAttribute("data-step"), 10) === n);
    });
  }
  function show(n) {
    current = Math.max(0, Math.min(last, n));
    mark("#list li", current);
    mark("#chart g.step", current);
    mark(".state", current);
    document.getElementById("position").textContent = "state " + current + " of " + last;
    var li = document.getElementById("li-" + current);
    if (li && li.scrollIntoView) { li.scrollIntoView({block: "nearest"}); }
    var g = document.getElementById("svg-step-" + current);
    if (g && g.scrollIntoView) { g.scrollIntoView({block: "nearest"}); }
    if (history.replaceState) { history.replaceState(null, "", "#step=" + current); }
  }
  document.querySelectorAll("#list li, #chart g.step").forEach(function (el) {
    el.addEventListener("click", function () { show(parseInt(el.getAttribute("data-step"), 10)); });
  });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown" || ev.key === "ArrowRight" || ev.key === "j") { show(current + 1); ev.preventDefault(); }
    if (ev.key === "ArrowUp" || ev.key === "ArrowLeft" || ev.key === "k") { show(current - 1); ev.preventDefault(); }
  });
  var m = /step=(\d+)/.exec(location.hash);
  show(m ? parseInt(m[1], 10) : parseInt(document.body.getAttribute("data-failing"), 10));
})();
