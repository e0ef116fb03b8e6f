/* Convenience only: nothing in the report depends on this. */
(function () {
  document.querySelectorAll("[data-js]").forEach(function (e) { e.hidden = false; });
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("[data-expand]");
    if (!b) return;
    var open = b.getAttribute("data-expand") === "1";
    document.querySelectorAll("details.case").forEach(function (d) { if (d.offsetParent !== null) d.open = open; });
  });
})();
