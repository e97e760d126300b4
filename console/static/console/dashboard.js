// The dashboard's charts (console/dashboard.py): data from the page's JSON, Chart.js from our static files.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("dashboard-data").textContent);
  const styles = getComputedStyle(document.documentElement);
  const text = styles.getPropertyValue("--body-fg").trim() || "#333";
  const grid = styles.getPropertyValue("--hairline-color").trim() || "#e8e8e8";
  const LOADED = "#417690";
  const RATE = "#ba2121";
  Chart.defaults.color = text;
  Chart.defaults.borderColor = grid;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  // Days with nothing read have no rate (null): a gap in the line, not a 0 % day. Every category
  // label is shown (Chart.js skipped every other partner pattern when they were long): rotated.
  // The rate is drawn over the bars (a lower order is drawn last); a line over days; over sources and patterns, a marker per bar (no line between them).
  function loadedAndRate(id, series, joined) {
    return new Chart(document.getElementById(id), {
      data: {
        labels: series.labels,
        datasets: [
          { type: "bar", label: "rows loaded", data: series.loaded, backgroundColor: LOADED, yAxisID: "rows", order: 2 },
          {
            type: "line", order: 1, label: "quarantine rate (%)", data: series.rate, borderColor: RATE,
            backgroundColor: RATE, yAxisID: "rate", pointRadius: joined ? 3 : 7,
            pointStyle: joined ? "circle" : "rectRot", showLine: joined,
          },
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { offset: true, ticks: joined ? {} : { autoSkip: false, maxRotation: 60, minRotation: 0 } },
          rows: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "rows loaded" } },
          rate: {
            type: "linear", position: "right", beginAtZero: true, suggestedMax: 5,
            grid: { drawOnChartArea: false }, title: { display: true, text: "quarantine rate (%)" },
          },
        },
      },
    });
  }

  loadedAndRate("chart-days", data.days, true);
  loadedAndRate("chart-sources", data.sources, false);
  loadedAndRate("chart-patterns", data.patterns, false);
  const rules = document.getElementById("chart-rules"); // absent when no record was quarantined
  if (rules) new Chart(rules, {
    type: "bar",
    data: {
      labels: data.rules.labels,
      datasets: [{ label: "records quarantined", data: data.rules.count, backgroundColor: RATE }],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true } } },
  });
})();
