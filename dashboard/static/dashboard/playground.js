// Playground: posts the text and chosen models, renders each model's class scores as bars.
"use strict";

(function () {
  const form = document.getElementById("playground");
  if (!form) return;
  const results = document.getElementById("playground-results");
  const error = document.getElementById("playground-error");
  const timing = document.getElementById("playground-timing");
  const button = form.querySelector("button[type=submit]");

  function node(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function renderResult(result) {
    const card = node("div", "result");
    card.dataset.model = result.model;
    const head = node("div", "result-head");
    head.append(node("strong", "mono", result.model));
    const verdict = result.label === null ? "no label selected" : `${result.label} · ${(result.confidence * 100).toFixed(1)}%`;
    head.append(node("span", "small muted", `${result.mode.replace("_", "-")} · ${verdict}`));
    card.append(head);
    result.classes.forEach((cls) => {
      const row = node("div", cls.selected ? "bar-row selected" : "bar-row");
      row.dataset.label = cls.label;
      const bar = node("div", "bar");
      const fill = node("span");
      // Bars are drawn against 1 for softmax and sigmoid scores alike, so they compare across models.
      fill.style.width = `${Math.max(0, Math.min(1, cls.score)) * 100}%`;
      bar.append(fill);
      const label = node("span", "bar-label", cls.label);
      label.title = cls.label;
      row.append(label, bar, node("span", "bar-score", cls.score.toFixed(3)));
      card.append(row);
    });
    return card;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const models = [...form.querySelectorAll("input[name=models]:checked")].map((input) => input.value);
    const text = form.querySelector("textarea[name=text]").value;
    error.hidden = true;
    if (!models.length) {
      error.textContent = "Pick at least one model.";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    button.textContent = "Predicting…";
    try {
      const body = await Reflex.fetchJSON(form.dataset.predictUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": Reflex.csrfToken() },
        body: JSON.stringify({ models, text }),
      });
      results.replaceChildren(...body.results.map(renderResult));
      timing.textContent = `${body.inference_time_ms.toFixed(1)} ms for ${body.results.length} model${body.results.length > 1 ? "s" : ""}`;
    } catch (failure) {
      error.textContent = failure.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
      button.textContent = "Predict";
    }
  });
})();
