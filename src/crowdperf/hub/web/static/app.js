// Small progressive enhancements; every page works without them.
(function () {
  // command builder and filter drop-downs: apply a choice at once
  document.querySelectorAll("form#builder select, form#filters select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
})();
