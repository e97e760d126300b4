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

  function loadedAndRate(id, series, type) {
    return new Chart(document.getElementById(id), {
      data: {
        labels: series.labels,
        datasets: [
          { type: "bar", label: "rows loaded", data: series.loaded, backgroundColor: LOADED, yAxisID: "rows" },
          {
            type: type, label: "quarantine rate (%)", data: series.rate, borderColor: RATE,
            backgroundColor: RATE, yAxisID: "rate", pointRadius: 3, showLine: type === "line",
          },
        ],
      },
      options: {
        interaction: { mode: "index", intersect: false },
        scales: {
          rows: { type: "linear", position: "left", beginAtZero: true, title: { display: true, text: "rows loaded" } },
          rate: {
            type: "linear", position: "right", beginAtZero: true, suggestedMax: 5,
            grid: { drawOnChartArea: false }, title: { display: true, text: "quarantine rate (%)" },
          },
        },
      },
    });
  }

  loadedAndRate("chart-days", data.days, "line");
  loadedAndRate("chart-sources", data.sources, "scatter");
  loadedAndRate("chart-patterns", data.patterns, "scatter");
  new Chart(document.getElementById("chart-rules"), {
    type: "bar",
    data: {
      labels: data.rules.labels,
      datasets: [{ label: "records quarantined", data: data.rules.count, backgroundColor: RATE }],
    },
    options: { indexAxis: "y", scales: { x: { beginAtZero: true } } },
  });
})();
