// The supervision dashboard's charts, drawn with Apache ECharts from the JSON the page embeds
// (#dashboard-data). Progressive enhancement only: the tables beside the charts hold the same
// numbers, each linked to its cases, so nothing is lost without this file or without ECharts.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || !window.echarts) {
    return;
  }
  var data = JSON.parse(source.textContent);

  function bars(categories, series, rotate) {
    return {
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", top: 0 },
      grid: { left: 48, right: 16, top: 40, bottom: rotate ? 96 : 32, containLabel: true },
      xAxis: { type: "category", data: categories, axisLabel: { interval: 0, rotate: rotate ? 30 : 0 } },
      yAxis: { type: "value" },
      series: series.map(function (one) {
        return { name: one.name, type: "bar", stack: one.stack, data: one.data };
      })
    };
  }

  var options = {
    volumes: bars(data.institutions, data.volumes, data.institutions.length > 4),
    times: bars(data.institutions, data.times, data.institutions.length > 4),
    rates: bars(data.institutions, data.rates, data.institutions.length > 4),
    alerts: bars(data.rules, data.alerts, data.rules.length > 8)
  };
  var charts = [];
  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), function (element) {
    var option = options[element.getAttribute("data-chart")];
    if (!option) {
      return;
    }
    var chart = window.echarts.init(element);
    chart.setOption(option);
    charts.push(chart);
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
