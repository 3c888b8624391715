// The report page's interactions: archs shown or hidden, switches, a tooltip at once.
// Everything they act on is already drawn: with scripts off, the page reads the same.
(function () {
  "use strict";
  document.querySelectorAll("nav.controls, .switch").forEach((el) => { el.hidden = false; });

  // An arch hidden here leaves every figure: its series, its panels, dimmed in the legends.
  document.querySelectorAll("nav.controls input[data-arch]").forEach((box) => {
    box.addEventListener("change", () => {
      const selector = `.chart [data-arch="${CSS.escape(box.dataset.arch)}"]`;
      document.querySelectorAll(selector).forEach((el) => {
        el.classList.toggle("off", !box.checked);
      });
    });
  });

  // A switch sets data-<name> on its section (CSS picks the y axis); the metric switch
  // shows the figures of one metric.
  function apply(input) {
    const section = input.closest("section");
    section.dataset[input.dataset.switch] = input.value;
    if (input.dataset.switch === "metric") {
      section.querySelectorAll("figure[data-metric]").forEach((figure) => {
        figure.hidden = figure.dataset.metric !== input.value;
      });
    }
  }
  document.querySelectorAll("input[data-switch]").forEach((input) => {
    input.addEventListener("change", () => apply(input));
  });
  document.querySelectorAll("input[data-switch]:checked").forEach(apply);

  // The marks' <title>s, shown at once beside the pointer (the browser's own waits a second).
  const tip = document.createElement("div");
  tip.id = "tip";
  tip.hidden = true;
  document.body.append(tip);
  function text(el) {
    const title = el.querySelector(":scope > title");
    if (title) {
      el.dataset.tip = title.textContent;
      title.remove();
    }
    return el.dataset.tip;
  }
  document.addEventListener("mouseover", (event) => {
    const el = event.target.closest ? event.target.closest("svg.plot circle, svg.plot path") : null;
    const said = el && text(el);
    if (!said) {
      tip.hidden = true;
      return;
    }
    tip.textContent = said;
    tip.hidden = false;
    place(event);
  });
  function place(event) {
    const x = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    tip.style.left = `${Math.max(x, 4)}px`;
    tip.style.top = `${event.clientY + 16}px`;
  }
  document.addEventListener("mousemove", (event) => { if (!tip.hidden) place(event); });
})();
