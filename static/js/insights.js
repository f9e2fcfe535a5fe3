// Draw every insights chart on the page with plotly.js. Each chart's figure
// (data and layout) is a JSON script element named by the chart's
// data-figure attribute; nothing else is needed from the page.
//
// The figure says what to draw; how it fits is chosen here, at draw time, from
// the width of the chart's container: the title wrapped to that width, the
// legend at the bottom of the chart below the axis title, fewer week ticks on
// a phone, and a chart tall enough for the title's and legend's extra lines.
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
    toImageButtonOptions: { format: "png", scale: 2 }
  };
  // Below this container width a chart is drawn for a phone: smaller type, fewer ticks.
  var NARROW = 520;
  var NARROW_EXTRA_HEIGHT = 60;
  var WEEK = 7 * 24 * 60 * 60 * 1000;
  // Room a week's tick label needs ("21 Sep"), with a gap to the next one.
  var TICK_ROOM = { narrow: 48, wide: 72 };
  // plotly.js's legend: the symbol and gaps beside an entry's name, and the space between entries.
  var LEGEND_SYMBOL = 40;
  var LEGEND_GAP = 10;
  // plotly.js's line spacing and the height of a capital, in ems of the font.
  var LINE_HEIGHT = 1.3;
  var CAP_HEIGHT = 0.7;

  var measure = null;

  function textWidth(text, size, family) {
    measure = measure || document.createElement("canvas").getContext("2d");
    measure.font = size + "px " + family;
    return measure.measureText(text).width;
  }

  // Return the lines of text that fit in width, broken between words.
  function wrap(text, width, size, family) {
    var lines = [];
    var line = "";
    text.split(" ").forEach(function (word) {
      var longer = line ? line + " " + word : word;
      if (line && textWidth(longer, size, family) > width) {
        lines.push(line);
        line = word;
      } else {
        line = longer;
      }
    });
    if (line) {
      lines.push(line);
    }
    return lines;
  }

  // Return how many rows plotly.js needs to lay the legend's entries side by side in width.
  function legendRows(data, width, size, family) {
    var rows = 0;
    var used = width;
    data.forEach(function (trace) {
      if (trace.showlegend === false || !trace.name) {
        return;
      }
      var entry = LEGEND_SYMBOL + textWidth(trace.name, size, family) + LEGEND_GAP;
      if (used + entry > width) {
        rows += 1;
        used = 0;
      }
      used += entry;
    });
    return data.length > 1 ? rows : 0;
  }

  // Return the first and last x of the traces drawn along a date axis, in milliseconds.
  function dateSpan(data) {
    var first = Infinity;
    var last = -Infinity;
    data.forEach(function (trace) {
      (trace.x || []).forEach(function (value) {
        var time = Date.parse(value);
        first = Math.min(first, time);
        last = Math.max(last, time);
      });
    });
    return first <= last ? { first: first, last: last } : null;
  }

  // Tick every week, or every second, third… week when the weeks do not fit, always on a week's Monday.
  function weekTicks(axis, data, width, narrow) {
    var span = dateSpan(data);
    if (!span) {
      return axis;
    }
    var weeks = Math.round((span.last - span.first) / WEEK) + 1;
    var room = Math.max(2, Math.floor(width / (narrow ? TICK_ROOM.narrow : TICK_ROOM.wide)));
    return Object.assign({}, axis, {
      tickmode: "linear",
      tick0: new Date(span.first).toISOString().slice(0, 10),
      dtick: Math.ceil(weeks / room) * WEEK
    });
  }

  function fit(figure, width) {
    var layout = Object.assign({}, figure.layout);
    var narrow = width < NARROW;
    var family = (layout.font && layout.font.family) || "sans-serif";
    var size = narrow ? 10 : (layout.font && layout.font.size) || 12;
    var title = layout.title || {};
    var titleSize = narrow ? 13 : (title.font && title.font.size) || 15;
    var titleLines = wrap(title.text || "", width - 8, titleSize, family);
    var titleExtra = Math.max(0, titleLines.length - 1) * titleSize * LINE_HEIGHT;
    var rows = legendRows(figure.data, width, size, family);
    var extra = 0;

    layout.font = Object.assign({}, layout.font, { size: size });
    // Wrapped to the container, at its top left. The top margin grows by the extra lines here: plotly.js's
    // title automargin, when it has to push, lifts a wrapped title's first line out of the chart.
    layout.title = Object.assign({}, title, {
      text: titleLines.join("<br>"),
      font: Object.assign({}, title.font, { size: titleSize }),
      x: 0,
      xanchor: "left",
      xref: "container",
      y: 1,
      yanchor: "top",
      yref: "container",
      // A wrapped title's first line is drawn from its baseline, not its cap height: it needs that much more.
      pad: { l: 2, t: 4 + (titleLines.length > 1 ? CAP_HEIGHT * titleSize : 0) },
      automargin: true
    });
    layout.margin = Object.assign({}, layout.margin);
    layout.margin.t = (layout.margin.t || 48) + titleExtra;
    extra += titleExtra;
    // At the bottom of the container: the legend keeps its own margin, and the axes' automargin stacks the
    // tick labels and axis title above it, so none covers another however many lines each takes.
    layout.legend = Object.assign({}, layout.legend, {
      orientation: "h",
      x: 0,
      xanchor: "left",
      xref: "container",
      y: 0,
      yanchor: "bottom",
      yref: "container"
    });
    extra += Math.max(0, rows - 1) * (size * LINE_HEIGHT + 8);
    if (layout.xaxis && layout.xaxis.type === "date") {
      layout.xaxis = weekTicks(layout.xaxis, figure.data, width - 80, narrow);
    }
    // A phone's chart is narrow: a little taller, its plot is not a flat strip.
    if (narrow) {
      extra += NARROW_EXTRA_HEIGHT;
    }
    layout.height = Math.round((layout.height || 360) + extra);
    return layout;
  }

  function overlaps(a, b, gap) {
    return a.left < b.right + gap && b.left < a.right + gap && a.top < b.bottom && b.top < a.bottom;
  }

  // Leave out a note on the chart (a DORA band's name) that would touch one drawn before it: on a phone a
  // narrow band has no room for its name, which its bars' own labels carry.
  function hideCrowdedNotes(element) {
    var kept = [];
    var hidden = {};
    element.querySelectorAll("g.annotation").forEach(function (note) {
      var box = note.getBoundingClientRect();
      var crowded = kept.some(function (other) {
        return overlaps(box, other, 4);
      });
      if (crowded) {
        hidden["annotations[" + note.getAttribute("data-index") + "].visible"] = false;
      } else {
        kept.push(box);
      }
    });
    return Object.keys(hidden).length ? window.Plotly.relayout(element, hidden) : Promise.resolve();
  }

  // Draw anew, not with Plotly.react: a legend that gains rows would keep the margin of its old size.
  function plot(element, figure, width) {
    var layout = fit(figure, width);
    // plotly.js's responsive mode sizes a chart to its container, and on a window's resize drops a height
    // given in the layout: the container is given the height instead.
    element.style.height = layout.height + "px";
    delete layout.height;
    return window.Plotly.newPlot(element, figure.data, layout, CONFIG).then(function () {
      return hideCrowdedNotes(element);
    });
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-figure"));
    if (!source || element.getAttribute("data-drawn")) {
      return;
    }
    var figure = JSON.parse(source.textContent);
    var width = element.clientWidth;
    plot(element, figure, width).then(function () {
      element.setAttribute("data-drawn", "true");
      // A phone turned sideways, a window made wider: the title, legend and ticks are fitted again.
      if (window.ResizeObserver) {
        new window.ResizeObserver(function () {
          if (element.clientWidth !== width) {
            width = element.clientWidth;
            plot(element, figure, width);
          }
        }).observe(element);
      }
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
