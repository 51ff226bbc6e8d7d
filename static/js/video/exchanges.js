/* Exchanges: run a phase-2 step or all of them, seek to an exchange, and show progress in place. */
import { Clipper } from "../common.js";

const { api, setState } = Clipper;

export class Exchanges {
  constructor(videoId, sections, seek, showError) {
    this.videoId = videoId;
    this.sections = sections;
    this.card = sections.container("exchanges");
    this.seek = seek;
    this.showError = showError;
    this.card.addEventListener("click", (event) => this.click(event));
    this.card.addEventListener("change", (event) => {
      const select = event.target.closest('.clip-shape select[name="shape"]');
      if (select) select.form.querySelector(".crop-x").classList.toggle("d-none", select.value !== "vertical");
    });
    this.card.addEventListener("submit", (event) => this.reshape(event));
  }

  async click(event) {
    const seekButton = event.target.closest(".seek");
    if (seekButton) return this.seek(Number(seekButton.dataset.start));
    if (event.target.closest("#process-all")) {
      const response = await api("POST", `/api/videos/${this.videoId}/exchanges/process`);
      this.showError(response.ok ? "" : response.error);
      return this.sections.refresh("exchanges");
    }
    const nudge = event.target.closest(".trim [data-edge]");
    if (nudge) return this.trim(nudge);
    const remove = event.target.closest(".delete-exchange");
    if (remove) return this.remove(remove);
    const button = event.target.closest(".phase2-step");
    if (!button) return;
    button.disabled = true;
    const response = await api("POST", `/api/exchanges/${button.dataset.exchange}/steps/${button.dataset.step}`);
    if (response.ok) this.apply({ ...response.data.step, exchange_id: Number(button.dataset.exchange), name: button.dataset.step });
    else this.showError(`${button.dataset.step}: ${response.error}`);
    this.sections.refresh("exchanges");
  }

  /** Move a start or an end to the next word boundary (the words are in the transcript section). */
  async trim(button) {
    const group = button.closest(".trim");
    const edge = button.dataset.edge;
    const way = Number(button.dataset.way);
    const current = Number(group.dataset[edge]);
    const bounds = [...document.querySelectorAll("#transcript .w")].map((word) => Number(word.dataset[edge]));
    const candidates = bounds.filter((time) => (way < 0 ? time < current - 0.01 : time > current + 0.01));
    if (!candidates.length) return;
    const target = way < 0 ? Math.max(...candidates) : Math.min(...candidates);
    button.disabled = true;
    const response = await api("PATCH", `/api/exchanges/${group.dataset.exchange}`, { [edge]: target });
    this.showError(response.ok ? "" : response.error);
    this.sections.refresh("exchanges", "clips");
  }

  /** Cut a Q&A's clips again with the chosen shape (vertical 9:16 crops the picture where the slider says)
      and captions (none, a plain line, or words lighting up as they are said). */
  async reshape(event) {
    const form = event.target.closest(".clip-shape");
    if (!form) return;
    event.preventDefault();
    const exchange = form.dataset.exchange;
    const shape = form.elements.shape.value;
    const captions = form.elements.captions.value;
    const changed = await api("PATCH", `/api/exchanges/${exchange}`, { shape, crop_x: Number(form.elements.crop_x.value), captions });
    if (!changed.ok) return this.showError(changed.error);
    const defined = changed.data.steps.some((step) => step.name === "define_clips" && step.state === "done");
    // Clips already defined are cut again now; otherwise the shape applies when they are first cut.
    const response = defined ? await api("POST", `/api/exchanges/${exchange}/steps/cut_clips`) : { ok: true };
    this.showError(response.ok ? "" : response.error);
    this.sections.refresh("exchanges", "clips");
  }

  async remove(button) {
    if (!window.confirm(`Delete ${button.dataset.title} and its clips? This cannot be undone.`)) return;
    button.disabled = true;
    const response = await api("DELETE", `/api/exchanges/${button.dataset.exchange}`);
    this.showError(response.ok || response.status === 404 ? "" : response.error);
    this.sections.refresh("exchanges", "clips");
  }

  /** A phase-2 step event, patched in place; true when its state changed (the section is fetched again). */
  apply(event) {
    const button = this.card.querySelector(`.phase2-step[data-exchange="${event.exchange_id}"][data-step="${event.name}"]`);
    if (!button) return true;
    const changed = button.dataset.state !== event.state;
    setState(button, event.state);
    if (event.state === "queued" || event.state === "running") button.disabled = true;
    const note = button.closest(".phase2").querySelector(`.step-note[data-step="${event.name}"]`);
    if (note && event.state === "running") note.textContent = note.textContent.replace(/\d+%$/, `${Math.round(event.progress * 100)}%`);
    return changed;
  }
}
