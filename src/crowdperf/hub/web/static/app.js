// Small progressive enhancements; every page works without them.
(function () {
  // command builder and filter drop-downs: apply a choice at once
  document.querySelectorAll("form#builder select, form#filters select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
  // static export: filter the table's rows by any text in them
  var quick = document.getElementById("quick-filter");
  if (quick) {
    var rows = document.querySelectorAll("#results tbody tr");
    var count = document.getElementById("count");
    quick.addEventListener("input", function () {
      var needle = quick.value.trim().toLowerCase(), shown = 0;
      rows.forEach(function (tr) {
        var hit = !needle || tr.textContent.toLowerCase().indexOf(needle) >= 0;
        tr.hidden = !hit;
        if (hit) { shown += 1; }
      });
      count.textContent = shown + " of " + rows.length + " results";
    });
  }
})();
