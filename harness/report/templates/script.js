// The report's own script (no library, no network): legend entries hide and show their
// series, hover targets show their value, interval and count, table headers sort.
(function () {
  "use strict";
  function toggle(entry) {
    var svg = entry.closest("svg");
    var k = entry.getAttribute("data-series");
    var off = !entry.classList.contains("off");
    entry.classList.toggle("off", off);
    entry.setAttribute("aria-pressed", off ? "false" : "true");
    svg.querySelectorAll('g.series[data-series="' + k + '"]').forEach(function (g) {
      g.classList.toggle("off", off);
    });
  }
  document.querySelectorAll("g.legend-entry[data-series]").forEach(function (e) {
    e.addEventListener("click", function () { toggle(e); });
    e.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(e); }
    });
  });
  var tip = document.createElement("div");
  tip.id = "tip";
  document.body.appendChild(tip);
  document.querySelectorAll("circle.hit, rect.mark").forEach(function (h) {
    var t = h.querySelector("title");
    if (!t) return;
    h.setAttribute("data-tip", t.textContent);
    t.remove();
    h.addEventListener("mouseenter", function () { tip.textContent = h.getAttribute("data-tip"); tip.style.display = "block"; });
    h.addEventListener("mousemove", function (ev) {
      var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
      tip.style.left = x + "px";
      tip.style.top = (ev.clientY + 14) + "px";
    });
    h.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  });
  function key(td) {
    if (!td) return "";
    var s = td.getAttribute("data-sort");
    if (s !== null && s !== "") return parseFloat(s);
    return td.textContent.trim();
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var ths = table.querySelectorAll("thead th");
    ths.forEach(function (th, col) {
      th.classList.add("sortable");
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        ths.forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var c = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
          if (typeof x === "number" && typeof y !== "number") c = -1;
          if (typeof y === "number" && typeof x !== "number") c = 1;
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
