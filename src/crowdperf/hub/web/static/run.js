// crowdperf ui's Run pages: the live panel follows its job's event stream (Server-Sent Events);
// the form offers only what runs here and shows the command lines of the current choice.
// Every value from the server goes in with textContent: nothing it sends is markup.
(function () {
  "use strict";

  function duration(s) {
    if (s === null || s === undefined || !isFinite(s) || s < 0) { return "–"; }
    var whole = Math.round(s);
    if (whole < 60) { return s < 10 ? s.toFixed(1) + " s" : whole + " s"; }
    var m = Math.floor(whole / 60), sec = whole % 60;
    if (m < 60) { return m + " min " + (sec < 10 ? "0" : "") + sec + " s"; }
    var h = Math.floor(m / 60); m = m % 60;
    return h + " h " + (m < 10 ? "0" : "") + m + " min";
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) { el.textContent = text; }
  }

  // ---- the live panel ---------------------------------------------------------------------
  var panel = document.getElementById("live");
  if (panel && panel.dataset.active === "yes") {
    var elapsed = parseFloat(panel.dataset.elapsed) || 0, receivedAt = Date.now(), ticking = false;
    var source = new EventSource(panel.dataset.events);

    var render = function (s) {
      panel.dataset.seen = String((parseInt(panel.dataset.seen, 10) || 0) + 1);
      panel.dataset.state = s.state;
      setText("job-state", s.state);
      document.getElementById("job-state").className = "badge state-" + s.state;
      var p = s.progress;
      setText("job-test", p ? p.index + " of " + p.count + ": " + p.scenario + " " + p.mode : "–");
      setText("job-phase", p && p.phase ? p.phase : "–");
      setText("job-work", s.work || "");
      var bar = document.getElementById("job-bar");
      if (p && p.expected) { bar.max = p.expected; bar.value = p.done || 0; } else { bar.removeAttribute("value"); }
      setText("job-left", p && p.remaining_s !== null ? "~" + duration(p.remaining_s) + " in this test" : "–");
      var queue = s.queue_position ? "position " + s.queue_position + ": starts when the runs before it end"
        : (s.waiting_for || "–");
      setText("job-queue", queue);
      setText("job-log", s.log_tail.join("\n"));
      var log = document.getElementById("job-log");
      log.scrollTop = log.scrollHeight;
      elapsed = s.elapsed_s; receivedAt = Date.now(); ticking = s.state === "running" || s.state === "cancelling";
      setText("job-elapsed", duration(elapsed));
      var cancel = document.getElementById("cancel-form");
      if (cancel && !s.cancellable) { cancel.hidden = true; }  // importing: the run ended well
      if (!s.active) {
        source.close();
        if (panel.dataset.reload === "yes") { window.location.reload(); }
      }
    };
    source.addEventListener("state", function (e) { render(JSON.parse(e.data)); });
    source.addEventListener("gone", function () { source.close(); setText("job-state", "gone"); });
    window.setInterval(function () {
      if (ticking) { setText("job-elapsed", duration(elapsed + (Date.now() - receivedAt) / 1000)); }
    }, 1000);
  }

  // ---- the form ------------------------------------------------------------------------------
  var form = document.getElementById("run-form");
  var supportData = document.getElementById("run-support");
  if (!form || !supportData) { return; }
  var support = JSON.parse(supportData.textContent);
  var field = function (name) { return document.getElementById("f-" + name); };
  var status = document.getElementById("run-status");

  var lookup = function (model, backend, device, precision) {
    var kind = device.split(":")[0];
    for (var i = 0; i < support.length; i++) {
      var s = support[i];
      if (s.model === model && s.backend === backend && s.device === kind && s.precision === precision) { return s; }
    }
    return null;
  };

  var runs = function (s) { return s !== null && s.status !== "unavailable"; };
  var runsSomePrecision = function (pick) {
    return Array.prototype.some.call(field("precision").options, function (o) {
      return runs(lookup(pick.model, pick.backend, pick.device, o.value));
    });
  };

  // Keep what the user just picked; when nothing runs with it, move another field (backend first,
  // then device, then model) to the first value that runs with it. Says what it moved, or "".
  var settle = function (changed) {
    var pick = { model: field("model").value, backend: field("backend").value, device: field("device").value };
    if (runsSomePrecision(pick)) { return ""; }
    var others = ["backend", "device", "model"].filter(function (n) { return n !== changed; });
    for (var i = 0; i < others.length; i++) {
      var name = others[i], options = field(name).options;
      for (var j = 0; j < options.length; j++) {
        var trial = { model: pick.model, backend: pick.backend, device: pick.device };
        trial[name] = options[j].value;
        if (runsSomePrecision(trial)) {
          field(name).value = options[j].value;
          var with_ = changed ? " and " + changed + " " + pick[changed] : "";
          return name + " set to " + options[j].value + ": nothing runs here with " + name + " " + pick[name] + with_ + ".";
        }
      }
    }
    return "";
  };

  var refresh = function (changed) {
    var moved = settle(changed);
    var model = field("model").value, backend = field("backend").value, device = field("device").value;
    // a precision this model/backend/device cannot run is not offered
    var precision = field("precision");
    Array.prototype.forEach.call(precision.options, function (o) {
      var s = lookup(model, backend, device, o.value);
      o.disabled = !s || s.status === "unavailable";
    });
    if (precision.selectedOptions[0] && precision.selectedOptions[0].disabled) {
      var first = Array.prototype.find.call(precision.options, function (o) { return !o.disabled; });
      if (first) { precision.value = first.value; }
    }
    var chosen = lookup(model, backend, device, precision.value);
    var button = document.getElementById("run-button");
    button.disabled = !chosen || chosen.status === "unavailable";
    var said = "";
    if (!chosen) {
      said = "This combination cannot run here.";
    } else if (chosen.status === "download") {
      said = "Needs official files first (tick 'fetch missing files'): " + chosen.reason;
    } else if (chosen.status !== "ready") {
      said = "Cannot run here: " + chosen.reason;
    }
    said = [moved, said].filter(Boolean).join(" ");
    status.hidden = !said;
    status.textContent = said;
    var query = new URLSearchParams();
    ["model", "backend", "precision", "scenario", "mode", "execution_mode", "category", "division"].forEach(function (n) {
      query.set(n, field(n).value);
    });
    query.set("device", device.split(":")[0]);
    fetch("/api/commands?" + query.toString()).then(function (r) { return r.ok ? r.json() : null; }).then(function (c) {
      if (c) { setText("run-command", c.run); setText("cm-command", c.cm); }
    });
  };
  form.querySelectorAll("select").forEach(function (s) {
    s.addEventListener("change", function () { refresh(s.name); });
  });
  refresh("");
})();
