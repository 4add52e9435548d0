// A tiny SVG line chart for loss curves: no library, no network. Reflex.LossChart(container).add(point)
"use strict";

window.Reflex = window.Reflex || {};

(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const MARGIN = { top: 28, right: 16, bottom: 34, left: 52 };
  const SERIES = [
    { key: "train_loss", label: "training loss", cls: "series-train" },
    { key: "valid_loss", label: "validation loss", cls: "series-valid" },
  ];

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (parent) parent.appendChild(node);
    return node;
  }

  // Round tick steps to 1, 2 or 5 times a power of ten, as people draw axes.
  function niceTicks(min, max, count) {
    if (!(max > min)) { max = min + 1; }
    const raw = (max - min) / Math.max(1, count);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * power).find((s) => raw <= s) || 10 * power;
    const ticks = [];
    for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(+t.toFixed(10));
    return ticks;
  }

  function format(value, span) {
    if (span >= 10) return String(Math.round(value));
    if (span >= 1) return value.toFixed(1);
    return value.toFixed(span >= 0.1 ? 2 : 3);
  }

  class LossChart {
    constructor(container) {
      this.container = container;
      this.points = [];
      this.pending = false;
      this.container.dataset.points = "0";
      if (window.ResizeObserver) new ResizeObserver(() => this.schedule()).observe(container);
    }

    add(data) {
      if (!data || typeof data.train_loss !== "number" || !isFinite(data.train_loss)) return;
      this.points.push({
        step: typeof data.step === "number" ? data.step : this.points.length + 1,
        train_loss: data.train_loss,
        valid_loss: typeof data.valid_loss === "number" && isFinite(data.valid_loss) ? data.valid_loss : null,
      });
      this.container.dataset.points = String(this.points.length);
      this.schedule();
    }

    schedule() {
      if (this.pending) return;
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.render(); });
    }

    xs() {
      // Steps normally grow; if a run restarts its counter, fall back to the point's position.
      const increasing = this.points.every((p, i) => i === 0 || p.step > this.points[i - 1].step);
      return this.points.map((p, i) => (increasing ? p.step : i + 1));
    }

    render() {
      const width = this.container.clientWidth;
      const height = this.container.clientHeight;
      if (!this.points.length || !width || !height) return;
      const empty = this.container.querySelector(".chart-empty");
      if (empty) empty.remove();

      const xs = this.xs();
      const values = this.points.flatMap((p) => [p.train_loss, p.valid_loss]).filter((v) => v !== null);
      const xMin = xs[0];
      const xMax = Math.max(xs[xs.length - 1], xMin + 1);
      const yMax = Math.max(...values) * 1.08 || 1;
      const yMin = Math.max(0, Math.min(...values) - (Math.max(...values) - Math.min(...values)) * 0.15);
      const plotW = width - MARGIN.left - MARGIN.right;
      const plotH = height - MARGIN.top - MARGIN.bottom;
      const x = (v) => MARGIN.left + ((v - xMin) / (xMax - xMin)) * plotW;
      const y = (v) => MARGIN.top + plotH - ((v - yMin) / (yMax - yMin || 1)) * plotH;

      const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: "none" });
      const defs = el("defs", {}, svg);
      const gradient = el("linearGradient", { id: "loss-gradient", x1: 0, x2: 0, y1: 0, y2: 1 }, defs);
      el("stop", { offset: "0%", "stop-color": "#4f46e5", "stop-opacity": 0.18 }, gradient);
      el("stop", { offset: "100%", "stop-color": "#4f46e5", "stop-opacity": 0 }, gradient);

      const grid = el("g", { class: "grid" }, svg);
      const axis = el("g", { class: "axis" }, svg);
      const yTicks = niceTicks(yMin, yMax, Math.max(2, Math.floor(plotH / 50)));
      yTicks.filter((t) => t >= yMin && t <= yMax).forEach((t) => {
        el("line", { x1: MARGIN.left, x2: width - MARGIN.right, y1: y(t), y2: y(t) }, grid);
        el("text", { x: MARGIN.left - 8, y: y(t) + 4, "text-anchor": "end" }, axis).textContent = format(t, yMax - yMin);
      });
      const xTicks = niceTicks(xMin, xMax, Math.max(3, Math.floor(plotW / 90))).filter((t) => t >= xMin && t <= xMax && Number.isInteger(t));
      xTicks.forEach((t) => {
        el("text", { x: x(t), y: height - MARGIN.bottom + 18, "text-anchor": "middle" }, axis).textContent = String(t);
      });
      el("text", { x: width - MARGIN.right, y: height - 4, "text-anchor": "end" }, axis).textContent = "step";

      const trainPath = this.points.map((p, i) => `${i ? "L" : "M"}${x(xs[i]).toFixed(1)},${y(p.train_loss).toFixed(1)}`).join("");
      const baseline = y(yMin).toFixed(1);
      el("path", { class: "area-train", d: `${trainPath}L${x(xs[xs.length - 1]).toFixed(1)},${baseline}L${x(xs[0]).toFixed(1)},${baseline}Z` }, svg);
      el("path", { class: "series-train", d: trainPath }, svg);

      const valid = this.points.map((p, i) => [xs[i], p.valid_loss]).filter(([, v]) => v !== null);
      if (valid.length) {
        el("path", { class: "series-valid", d: valid.map(([s, v], i) => `${i ? "L" : "M"}${x(s).toFixed(1)},${y(v).toFixed(1)}`).join("") }, svg);
      }
      const last = this.points[this.points.length - 1];
      el("circle", { class: "dot", cx: x(xs[xs.length - 1]), cy: y(last.train_loss), r: 3.5 }, svg);

      valid.forEach(([s, v]) => el("circle", { class: "dot-valid", cx: x(s), cy: y(v), r: 2.5 }, svg));
      const legend = el("g", { class: "legend" }, svg);
      const narrow = width < 480;
      let offset = MARGIN.left;
      SERIES.filter((s) => s.key === "train_loss" || valid.length).forEach((s) => {
        el("line", { class: s.cls, x1: offset, x2: offset + 18, y1: 12, y2: 12 }, legend);
        const text = el("text", { x: offset + 24, y: 16 }, legend);
        const label = narrow ? s.label.replace(" loss", "") : s.label;
        text.textContent = s.key === "train_loss" ? `${label} ${last.train_loss.toFixed(4)}` : label;
        offset += 24 + text.textContent.length * 6.5 + 18;
      });

      const old = this.container.querySelector("svg");
      if (old) old.replaceWith(svg); else this.container.appendChild(svg);
    }
  }

  Reflex.LossChart = LossChart;
})();
