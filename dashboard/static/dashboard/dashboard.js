// Reflex dashboard: copy buttons, confirmations, and live job statuses in tables. No dependencies.
"use strict";

window.Reflex = window.Reflex || {};

Reflex.csrfToken = function () {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
};

Reflex.fetchJSON = async function (url, options) {
  const response = await fetch(url, Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {}));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (body.error && body.error.message) || `Request failed (${response.status})`;
    throw new Error(message);
  }
  return body;
};

Reflex.setStatusBadge = function (badge, status) {
  if (!badge || badge.textContent === status) return;
  badge.textContent = status;
  badge.className = `badge badge-${status}`;
};

Reflex.TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

function setUpCopyButtons() {
  document.querySelectorAll("[data-copy-target]").forEach((button) => {
    button.addEventListener("click", async () => {
      const target = document.querySelector(button.dataset.copyTarget);
      if (!target) return;
      const text = "value" in target && target.tagName === "INPUT" ? target.value : target.textContent;
      try {
        await navigator.clipboard.writeText(text);
      } catch (_) {
        // Clipboard API needs a secure context: fall back to selecting the text for the user.
        if (target.select) target.select();
        document.execCommand && document.execCommand("copy");
      }
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  });
}

function setUpRevealButtons() {
  document.querySelectorAll("[data-reveal-target]").forEach((button) => {
    button.addEventListener("click", () => {
      const input = document.querySelector(button.dataset.revealTarget);
      const hidden = input.type === "password";
      input.type = hidden ? "text" : "password";
      button.textContent = hidden ? "Hide" : "Reveal";
    });
  });
}

function setUpConfirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

function setUpLiveJobTables() {
  document.querySelectorAll("table[data-live-jobs]").forEach((table) => {
    const url = table.dataset.liveJobs;
    const poll = async () => {
      const active = [...table.querySelectorAll("tr[data-job-id]")].filter((row) => !Reflex.TERMINAL.has(row.dataset.jobStatus));
      if (!active.length) return;
      try {
        const ids = active.map((row) => row.dataset.jobId).join(",");
        const body = await Reflex.fetchJSON(`${url}?ids=${encodeURIComponent(ids)}`);
        body.data.forEach((job) => {
          const row = table.querySelector(`tr[data-job-id="${CSS.escape(job.id)}"]`);
          if (!row) return;
          row.dataset.jobStatus = job.status;
          Reflex.setStatusBadge(row.querySelector("[data-status]"), job.status);
          const examples = row.querySelector('[data-field="trained_examples"]');
          if (examples) examples.textContent = job.trained_examples;
        });
      } catch (_) { /* a missed poll is retried on the next tick */ }
      setTimeout(poll, 2000);
    };
    setTimeout(poll, 2000);
  });
}

function showCurrentNavItem() {
  // On a phone the nav scrolls sideways: bring the current page's link into view.
  const nav = document.querySelector(".nav");
  const current = nav && nav.querySelector("[aria-current=page]");
  if (current && nav.scrollWidth > nav.clientWidth) nav.scrollLeft = current.offsetLeft - nav.offsetLeft - 16;
}

document.addEventListener("DOMContentLoaded", () => {
  showCurrentNavItem();
  setUpCopyButtons();
  setUpRevealButtons();
  setUpConfirmations();
  setUpLiveJobTables();
});
