// Sorts a table by a column when its heading is clicked: a convenience on top
// of the server's sorting; the tables work without it.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, col) {
    th.classList.add("sort");
    th.addEventListener("click", function (ev) {
      if (ev.target.tagName === "A") return;
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.dir !== "asc";
      th.dataset.dir = asc ? "asc" : "desc";
      var val = function (r) {
        var t = r.cells[col] ? r.cells[col].textContent.trim() : "";
        var n = parseFloat(t.replace(/[^0-9.eE+-]/g, ""));
        return isNaN(n) || /[a-df-z]/i.test(t.replace(/e[+-]?\d/i, "")) && isNaN(Number(t)) ? t : n;
      };
      rows.sort(function (a, b) {
        var x = val(a), y = val(b);
        var c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
