/* Draw every [data-chart] element from the JSON in the <script type="application/json"> it names.
 * Runs on htmx.onLoad, so charts in fragments swapped in by htmx are drawn too. No inline scripts (CSP). */
(function () {
  "use strict";

  var CONFIG = {
    responsive: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"],
  };

  function chartsIn(root) {
    var found = [];
    if (root.matches && root.matches("[data-chart]")) found.push(root);
    if (root.querySelectorAll) found = found.concat(Array.prototype.slice.call(root.querySelectorAll("[data-chart]")));
    return found;
  }

  function draw(root) {
    if (typeof Plotly === "undefined") return;
    chartsIn(root).forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-chart"));
      if (!source) return;
      var figure = JSON.parse(source.textContent);
      Plotly.newPlot(el, figure.data, figure.layout, CONFIG).then(function () {
        el.setAttribute("data-drawn", "true");
      });
    });
  }

  // Printed pages are narrower than the screen: fit the charts to the paper, then restore.
  function resizeAll(width) {
    chartsIn(document).forEach(function (el) {
      if (el.getAttribute("data-drawn")) Plotly.relayout(el, { width: width, autosize: width === null });
    });
  }
  window.addEventListener("beforeprint", function () { resizeAll(680); });
  window.addEventListener("afterprint", function () { resizeAll(null); });

  htmx.onLoad(draw);
})();
