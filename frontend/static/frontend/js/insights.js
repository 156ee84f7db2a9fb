// The adoption metrics page's charts, drawn with Chart.js (vendor/chartjs, loaded before
// this module) from the figures the page embeds as JSON. Each chart's figures are also in
// the table beside it, which is what screen readers and printouts use.

function cssColour(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

function chartsDraw() {
  const source = document.getElementById("insights-data");
  if (!source || typeof window.Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const quiet = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const text = cssColour("--color-text", "#222");
  const grid = cssColour("--color-border", "#ddd");
  const brand = cssColour("--brand-primary", "#0a7b83");
  const danger = cssColour("--color-danger", "#b42318");
  const common = {
    animation: quiet ? false : { duration: 300 },
    maintainAspectRatio: false,
    plugins: { legend: { display: false } },
    scales: {
      x: { ticks: { color: text }, grid: { color: grid } },
      y: { beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
    },
  };

  const share = document.getElementById("chart-share");
  if (share) {
    new window.Chart(share, {
      type: "bar",
      data: {
        labels: data.buckets.map((b) => b.label),
        datasets: [
          {
            label: "Accounts",
            data: data.buckets.map((b) => b.accounts),
            // Buckets under the bar in the danger colour, the rest in the firm's.
            backgroundColor: data.buckets.map((b) => (b.below_bar ? danger : brand)),
          },
        ],
      },
      options: common,
    });
  }

  const days = document.getElementById("chart-days");
  if (days) {
    new window.Chart(days, {
      type: "line",
      data: {
        labels: data.days.map((d) => d.day),
        datasets: [
          {
            label: "Sign-ins",
            data: data.days.map((d) => d.logins),
            borderColor: brand,
            backgroundColor: brand,
            pointRadius: data.days.length > 60 ? 0 : 2,
          },
        ],
      },
      options: common,
    });
  }
}

// Chart.js is a classic deferred script; a module runs after it, but wait for the document
// either way.
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", chartsDraw);
} else {
  chartsDraw();
}
