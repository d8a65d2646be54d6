// Draws the scatter from the JSON embedded in the page; no data is fetched.
(function () {
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var el = document.getElementById("chart");
  var form = document.getElementById("axes");

  function traces(color) {
    var groups = {};
    data.points.forEach(function (p) {
      var g = p.groups[color] || "?";
      (groups[g] = groups[g] || []).push(p);
    });
    var out = Object.keys(groups).sort().map(function (g) {
      var pts = groups[g];
      return {
        type: "scatter", mode: "markers", name: g,
        x: pts.map(function (p) { return p.x; }), y: pts.map(function (p) { return p.y; }),
        text: pts.map(function (p) { return data.power_axis ? p.label + " · meter " + p.meter : p.label; }),
        customdata: pts.map(function (p) { return p.href; }),
        marker: { size: pts.map(function (p) { return p.on_front ? 14 : 8; }), line: { width: 1, color: "#fff" } },
        hovertemplate: "%{text}<br>x=%{x}<br>y=%{y}<extra></extra>"
      };
    });
    var front = data.points.filter(function (p) { return p.on_front; })
      .sort(function (a, b) { return a.x - b.x; });
    if (front.length > 1) {
      out.push({ type: "scatter", mode: "lines", name: "Pareto front", hoverinfo: "skip",
        x: front.map(function (p) { return p.x; }), y: front.map(function (p) { return p.y; }),
        line: { color: "#10192e", dash: "dot", width: 1.5 } });
    }
    return out;
  }

  function draw() {
    Plotly.react(el, traces(form.color.value), {
      margin: { t: 20, r: 20, b: 60, l: 70 }, hovermode: "closest",
      xaxis: { title: { text: data.x_label }, zeroline: false },
      yaxis: { title: { text: data.y_label }, zeroline: false },
      legend: { orientation: "h", y: -0.18 }
    }, { displaylogo: false, responsive: true });
  }

  draw();
  el.on("plotly_click", function (ev) { var href = ev.points[0].customdata; if (href) { window.location = href; } });
  form.color.addEventListener("change", draw);
  if (form.dataset.static) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      window.location = "chart-" + form.x.value + "-" + form.y.value + ".html";
    });
  }
})();
