// Draw every insights chart on the page with plotly.js. Each chart's figure
// (data and layout) is a JSON script element named by the chart's
// data-figure attribute; nothing else is needed from the page.
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || element.getAttribute("data-drawn")) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    // Narrow screens: smaller type and the legend below the plot.
    if (element.clientWidth < 520) {
      figure.layout.font = Object.assign({}, figure.layout.font, { size: 10 });
      figure.layout.title = Object.assign({}, figure.layout.title, { font: { size: 13 } });
      // Dates take two lines of ticks there: the legend goes further down, clear of the axis title.
      figure.layout.legend = Object.assign({}, figure.layout.legend, { y: -0.45 });
      figure.layout.height = (figure.layout.height || 360) + 60;
    }
    window.Plotly.newPlot(element, figure.data, figure.layout, CONFIG).then(function () {
      element.setAttribute("data-drawn", "true");
    });
  }

  function drawAll() {
    if (!window.Plotly) {
      return;
    }
    var charts = document.querySelectorAll("[data-figure]");
    for (var index = 0; index < charts.length; index += 1) {
      draw(charts[index]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
