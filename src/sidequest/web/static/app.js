// sidequest dashboard: confirmations, select-all, page-size selector, and the two graphs.
// No inline scripts anywhere (the Content-Security-Policy forbids them); data comes from JSON in
// <script type="application/json"> elements and from /stats.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (button && button.hasAttribute("data-needs-selection")) {
      var picked = event.target.querySelectorAll('input[name="jid"]:checked').length;
      if (picked === 0) { event.preventDefault(); window.alert("Select at least one job first."); return; }
      message = message + " (" + picked + ")";
    }
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      var form = target.closest("form");
      form.querySelectorAll('input[name="jid"]').forEach(function (box) { box.checked = target.checked; });
    } else if (target.matches("[data-autosubmit]")) {
      target.form.submit();
    }
  });

  function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

  function utcDays(u, splits) {
    return splits.map(function (s) { return new Date(s * 1000).toISOString().slice(5, 10); });
  }
  function clock(u, splits) {
    return splits.map(function (s) { return new Date(s * 1000).toTimeString().slice(0, 8); });
  }

  function chart(element, title, data, bars) {
    var width = Math.max(element.clientWidth, 300);
    var x = { stroke: css("--muted"), grid: { stroke: css("--border") }, values: bars ? utcDays : clock, space: 70 };
    x.incrs = bars ? [86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400] : [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
    var xScale = { time: true };
    // Half a day on each side, so the first and last days' bars are drawn whole.
    if (bars) xScale.range = function (u, min, max) { return [min - 43200, max + 43200]; };
    var opts = {
      title: title, width: width, height: 220,
      scales: { x: xScale, y: { range: function (u, min, max) { return [0, Math.max(max, 5)]; } } },
      axes: [x, { stroke: css("--muted"), grid: { stroke: css("--border") } }],
      series: [{}, { label: "processed", stroke: css("--processed"), width: 2 },
                   { label: "failed", stroke: css("--failed"), width: 2 }]
    };
    if (bars && window.uPlot.paths && window.uPlot.paths.bars) {
      opts.series[1].paths = opts.series[2].paths = window.uPlot.paths.bars({ size: [0.6, 40] });
      opts.series[1].fill = css("--processed"); opts.series[2].fill = css("--failed");
    }
    return new window.uPlot(opts, data, element);
  }

  function history() {
    var element = document.getElementById("history");
    var source = document.getElementById("history-data");
    if (!element || !source || !window.uPlot) return;
    var rows = JSON.parse(source.textContent);
    var data = [[], [], []];
    rows.forEach(function (row) {
      data[0].push(Date.parse(row[0] + "T00:00:00Z") / 1000); data[1].push(row[1]); data[2].push(row[2]);
    });
    element.dataset.days = String(rows.length);
    element.dataset.processed = String(data[1].reduce(function (a, b) { return a + b; }, 0));
    chart(element, "processed and failed per day (UTC)", data, true);
  }

  var PALETTE = ["#2f6fdf", "#d9822b", "#2e9e5b", "#b8338a", "#7a5cd6", "#8a8a2e"];

  // /metrics and /metrics/{class}: execution seconds per period, one line per class.
  function metrics() {
    var element = document.getElementById("metrics-chart");
    var source = document.getElementById("metrics-data");
    if (!element || !source || !window.uPlot) return;
    var body = JSON.parse(source.textContent);
    element.dataset.series = String(body.series.length);
    element.dataset.points = String(body.x.length);
    var data = [body.x].concat(body.series.map(function (s) { return s.values; }));
    var series = [{}].concat(body.series.map(function (s, i) {
      return { label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2 };
    }));
    new window.uPlot({
      title: "execution time (s)", width: Math.max(element.clientWidth, 300), height: 240,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(max, 1)]; } } },
      axes: [{ stroke: css("--muted"), grid: { stroke: css("--border") } },
             { stroke: css("--muted"), grid: { stroke: css("--border") } }],
      series: series
    }, data, element);
  }

  // /metrics/{class}: successful runs per duration bucket, as bars.
  function histogramChart() {
    var element = document.getElementById("histogram-chart");
    var source = document.getElementById("histogram-data");
    if (!element || !source || !window.uPlot) return;
    var body = JSON.parse(source.textContent);
    var buckets = body.buckets;
    var labels = body.bounds;  // each bucket's upper bound: full labels would overlap
    var data = [buckets.map(function (b, i) { return i; }), buckets.map(function (b) { return b[1]; })];
    element.dataset.runs = String(data[1].reduce(function (a, b) { return a + b; }, 0));
    var opts = {
      title: "runs by duration", width: Math.max(element.clientWidth, 300), height: 220,
      scales: { x: { time: false, range: function () { return [-0.5, buckets.length - 0.5]; } },
                y: { range: function (u, min, max) { return [0, Math.max(max, 5)]; } } },
      axes: [{ stroke: css("--muted"), grid: { show: false }, space: 60, incrs: [1, 2, 3, 4, 5, 6],
               label: "duration (each bucket up to its bound)",
               values: function (u, splits) { return splits.map(function (s) { return labels[s] || ""; }); } },
             { stroke: css("--muted"), grid: { stroke: css("--border") } }],
      series: [{}, { label: "runs", stroke: css("--processed"), fill: css("--processed"), width: 1 }]
    };
    if (window.uPlot.paths && window.uPlot.paths.bars) {
      opts.series[1].paths = window.uPlot.paths.bars({ size: [0.8, 60] });
    }
    new window.uPlot(opts, data, element);
  }

  function realtime() {
    var element = document.getElementById("realtime");
    if (!element || !window.uPlot) return;
    var slider = document.getElementById("interval");
    var shown = document.getElementById("interval-value");
    var state = document.getElementById("realtime-state");
    var status = document.getElementById("realtime-status");
    var data = [[], [], []];
    var plot = chart(element, "processed and failed per interval", data, false);
    var last = null, timer = null, total = { processed: 0, failed: 0 }, polls = 0;

    function poll() {
      fetch(element.dataset.statsUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          var stats = body.sidekiq;
          Object.keys(stats).forEach(function (key) {
            var cell = document.querySelector('[data-stat="' + key + '"]');
            if (cell) cell.textContent = String(stats[key]);
          });
          if (last === null) {
            data[0].push(Date.now() / 1000); data[1].push(0); data[2].push(0);  // where the graph starts
            plot.setData(data);
          } else {
            var processed = Math.max(stats.processed - last.processed, 0);
            var failed = Math.max(stats.failed - last.failed, 0);
            data[0].push(Date.now() / 1000); data[1].push(processed); data[2].push(failed);
            if (data[0].length > 60) data.forEach(function (series) { series.shift(); });
            plot.setData(data);
            total.processed += processed; total.failed += failed; polls += 1;
            status.dataset.processed = String(total.processed);
            status.dataset.failed = String(total.failed);
            status.dataset.polls = String(polls);
            status.textContent = "Last interval: " + processed + " processed, " + failed + " failed.";
          }
          last = stats;
        })
        .catch(function () { status.textContent = "The dashboard did not answer; trying again."; });
    }

    function start() {
      stop();
      if (document.hidden) { state.textContent = "paused while the tab is hidden"; return; }
      state.textContent = "live";
      poll();
      timer = window.setInterval(poll, Number(slider.value) * 1000);
    }
    function stop() { if (timer !== null) { window.clearInterval(timer); timer = null; } }

    slider.addEventListener("input", function () { shown.textContent = slider.value; start(); });
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { stop(); state.textContent = "paused while the tab is hidden"; last = null; }
      else start();
    });
    start();
  }

  document.addEventListener("DOMContentLoaded", function () {
    history(); realtime(); metrics(); histogramChart();
  });
})();
