// Job page: follows the job's event stream (session-authenticated SSE), draws the loss curve,
// lists events, and refreshes the job's status and result as it changes.
"use strict";

(function () {
  const root = document.getElementById("job");
  if (!root) return;
  const chart = new Reflex.LossChart(document.getElementById("loss-chart"));
  const list = document.getElementById("events");
  const seen = new Set();
  let eventCount = 0;
  let lossPoints = 0;

  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  const setText = (name, text) => { const node = field(name); if (node) node.textContent = text; };
  const metric = (value) => (typeof value === "number" ? value.toFixed(3) : "—");
  const clock = (unix) => new Date(unix * 1000).toISOString().slice(11, 19);
  const stamp = (unix) => new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC";

  function showEvent(event) {
    const item = document.createElement("li");
    item.className = `level-${event.level} type-${event.type}`;
    const time = document.createElement("time");
    time.dateTime = new Date(event.created_at * 1000).toISOString();
    time.textContent = clock(event.created_at);
    const message = document.createElement("span");
    message.textContent = event.message;
    item.append(time, message);
    list.prepend(item);
  }

  function showJob(job) {
    root.dataset.status = job.status;
    Reflex.setStatusBadge(document.querySelector(".head-actions [data-status]"), job.status);
    document.getElementById("cancel-form").hidden = Reflex.TERMINAL.has(job.status);
    setText("trained_examples", job.trained_examples);
    if (job.result) {
      setText("accuracy", metric(job.result.accuracy));
      setText("f1_score", metric(job.result.f1_score));
    }
    if (job.finished_at) setText("finished_at", stamp(job.finished_at));
    const error = document.getElementById("job-error");
    if (job.error) {
      setText("error_code", job.error.code);
      setText("error_message", job.error.message);
    }
    error.hidden = !(job.status === "failed" && job.error);
    const model = field("fine_tuned_model");
    if (job.fine_tuned_model && model && !model.querySelector("a")) {
      const link = document.createElement("a");
      link.href = `${root.dataset.playgroundUrl}?model=${encodeURIComponent(job.fine_tuned_model)}`;
      link.textContent = job.fine_tuned_model;
      model.replaceChildren(link);
    }
  }

  async function refresh() {
    try {
      const body = await Reflex.fetchJSON(root.dataset.liveUrl);
      if (body.data.length) showJob(body.data[0]);
    } catch (_) { /* the next event refreshes again */ }
  }

  const stream = new EventSource(root.dataset.streamUrl);
  stream.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch (_) { return; }
    if (!event || seen.has(event.id)) return;
    seen.add(event.id);
    eventCount += 1;
    setText("event_count", `${eventCount} so far`);
    if (event.type === "metrics") {
      chart.add(event.data);
      lossPoints += 1;
      setText("loss_points", lossPoints);
      if (lossPoints % 10 === 1) showEvent(event); // keep the log readable: every tenth loss point
    } else {
      showEvent(event);
      refresh();
    }
  };
  // The server ends the stream after the job's terminal event; without this the browser would reconnect.
  stream.addEventListener("end", () => {
    stream.close();
    document.getElementById("chart-note").textContent = "final";
    refresh();
  });
  stream.onerror = () => {
    if (stream.readyState === EventSource.CLOSED) document.getElementById("chart-note").textContent = "stream closed";
  };
})();
