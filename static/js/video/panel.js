/* The pipeline panel: progress and times patched in place from step events; what each button may do
   comes with the section from the server (the step registry), fetched again when a state changes. */
import { Clipper } from "../common.js";

const { api, el, span, setState, timeLeft, inLine } = Clipper;

export class Panel {
  constructor(videoId, sections, showError) {
    this.videoId = videoId;
    this.sections = sections;
    this.box = sections.container("panel");
    this.box.addEventListener("click", (event) => this.run(event));
    this.ahead = {};
    sections.after("panel", (box) => { // a fresh panel's estimates are as of now
      for (const row of box.querySelectorAll(".step-row[data-seconds-left]")) row.dataset.leftAt = String(Date.now());
    });
    setInterval(() => this.tick(), 1000);
    this.tick();
    this.showError = showError;
  }

  row(name) {
    return this.box.querySelector(`.step-row[data-step="${name}"]`);
  }

  /** A phase-1 step event: true when the step's state changed (the caller fetches what follows from it). */
  apply(event) {
    const row = this.row(event.name);
    if (!row) return true;
    const changed = row.dataset.state !== event.state;
    row.dataset.state = event.state;
    row.dataset.progress = event.progress;
    if (event.id !== undefined) row.dataset.stepId = event.id;
    if (event.started_at !== undefined) row.dataset.startedAt = event.started_at || "";
    if (event.finished_at !== undefined) row.dataset.finishedAt = event.finished_at || "";
    if (event.seconds_left !== undefined) { // the server's estimate, counted down here until the next one
      row.dataset.secondsLeft = event.seconds_left ?? "";
      row.dataset.leftAt = String(Date.now());
    }
    if (event.state === "queued" && !row.dataset.queuedAt) row.dataset.queuedAt = new Date().toISOString();
    const badge = row.querySelector(".step-state");
    setState(badge, event.state);
    badge.textContent = event.state === "running" ? `running ${Math.round(event.progress * 100)}%` : event.state;
    const bar = row.querySelector(".step-progress-bar");
    bar.classList.toggle("d-none", event.state !== "running");
    bar.querySelector(".progress-bar").style.width = `${(event.progress * 100).toFixed(1)}%`;
    const error = row.querySelector(".step-error");
    error.textContent = event.state === "error" ? event.error || "failed (no message recorded)" : "";
    error.classList.toggle("d-none", event.state !== "error");
    const note = row.querySelector(".step-note");
    if (note && event.note !== undefined) { // where the model runs; a warning after a CUDA failure
      note.textContent = event.note || "";
      note.classList.toggle("d-none", !event.note);
      note.classList.toggle("text-warning-emphasis", Boolean(event.fallback));
      note.classList.toggle("text-body-secondary", !event.fallback);
    }
    if (event.state === "queued" || event.state === "running") row.querySelector(".step-run").disabled = true;
    this.tick();
    return changed;
  }

  async cancel(button) {
    button.disabled = true;
    const response = await api("POST", `/api/videos/${this.videoId}/steps/${button.dataset.step}/cancel`);
    if (response.ok) this.apply({ ...response.data.step, name: button.dataset.step });
    else this.showError(`${button.dataset.step}: ${response.error}`);
    this.sections.refresh("panel", "exchanges");
  }

  /** Where each queued step stands in line (a snapshot's or a queue event's `ahead`). */
  setQueue(ahead) {
    this.ahead = ahead || {};
    this.tick();
  }

  tick() {
    for (const row of this.box.querySelectorAll(".step-row")) {
      const { state, queuedAt, startedAt, finishedAt } = row.dataset;
      let text = "";
      if (state === "running") {
        const left = timeLeft(row.dataset.secondsLeft, row.dataset.leftAt);
        text = `running for ${span(startedAt)}${left ? ` · ${left}` : ""}`;
      }
      else if (state === "queued") {
        const line = inLine(this.ahead, row.dataset.stepId);
        text = [queuedAt ? `queued ${span(queuedAt)} ago` : "queued", line].filter(Boolean).join(" · ");
      }
      else if (["done", "error", "stale"].includes(state) && startedAt && finishedAt) text = `took ${span(startedAt, finishedAt)}`;
      row.querySelector(".step-time").textContent = text;
    }
  }

  async run(event) {
    const cancel = event.target.closest(".step-cancel");
    if (cancel) return this.cancel(cancel);
    const button = event.target.closest(".step-run");
    if (!button) return;
    button.disabled = true;
    const row = button.closest(".step-row");
    row.querySelector(".step-feedback")?.remove();
    const response = await api("POST", `/api/videos/${this.videoId}/steps/${button.dataset.step}`);
    if (response.ok) {
      this.apply({ ...response.data.step, name: button.dataset.step });
    } else {
      row.append(el("div", { class: "step-feedback small text-danger mt-1" }, response.error));
      button.disabled = false;
    }
    this.sections.refresh("panel", "exchanges");
  }
}
