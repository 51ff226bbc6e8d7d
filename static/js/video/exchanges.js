/* Exchanges: run a phase-2 step or all of them, seek to an exchange, and show progress in place. */
import { Clipper } from "../common.js";

const { api, setState, url } = Clipper;

export class Exchanges {
  constructor(videoId, sections, seek, showError, { note = () => {}, edit = () => {} } = {}) {
    this.videoId = videoId;
    this.sections = sections;
    this.note = note; // says what an action started, wherever the page is scrolled
    this.edit = edit; // opens the clip editor of a Q&A
    this.card = sections.container("exchanges");
    this.seek = seek;
    this.showError = showError;
    this.card.addEventListener("click", (event) => this.click(event));
    this.card.addEventListener("change", (event) => this.lookChanged(event));
    this.card.addEventListener("submit", (event) => this.reshape(event));
    this.previewTimers = new Map();
  }

  /** The look's form follows its choices (framing for a cropped shape, the crop slider for a fixed crop,
      caption details with captions, speaker names on by default in the original shape only) and redraws its
      preview. */
  lookChanged(event) {
    const form = event.target.closest(".clip-shape");
    if (!form) return;
    const { shape, framing, captions, caption_names: names } = form.elements;
    if (event.target === names) names.dataset.touched = "yes";
    if (event.target === shape && !names.dataset.touched) names.checked = shape.value === "original";
    framing.classList.toggle("d-none", shape.value === "original");
    form.querySelector(".crop-x").classList.toggle("d-none", shape.value === "original" || framing.value !== "fixed");
    form.querySelectorAll(".caption-detail").forEach((part) => part.classList.toggle("d-none", captions.value === "none"));
    this.preview(form, true);
  }

  /** The form's choices as the API's look fields. */
  look(form) {
    const { shape, framing, crop_x: cropX, captions, caption_position: position, caption_names: names } = form.elements;
    return { shape: shape.value, framing: framing.value, crop_x: Number(cropX.value), captions: captions.value,
      caption_position: position.value, caption_names: names.checked };
  }

  /** Show the preview (a still the server draws as the cut will) and draw it again for the current choices,
      a moment after the last change, so dragging the crop slider asks once. */
  preview(form, open = false) {
    const figure = form.querySelector(".clip-preview");
    if (open) figure.classList.remove("d-none");
    form.querySelector(".show-preview").setAttribute("aria-expanded", String(!figure.classList.contains("d-none")));
    if (figure.classList.contains("d-none")) return;
    clearTimeout(this.previewTimers.get(form));
    this.previewTimers.set(form, setTimeout(() => this.drawPreview(form), 250));
  }

  drawPreview(form) {
    const img = form.querySelector(".clip-preview img");
    const note = form.querySelector(".preview-note");
    const query = new URLSearchParams(Object.entries(this.look(form)).map(([key, value]) => [key, String(value)]));
    const path = `/api/exchanges/${form.dataset.exchange}/preview.jpg?${query}`;
    note.textContent = "Drawing the preview…";
    form.dataset.previewState = "loading";
    const { shape, framing } = form.elements;
    const followed = shape.value !== "original" && framing.selectedOptions[0].dataset.note;
    img.onload = () => { // a crop that follows the speaker is found when cutting: the still is centred
      note.textContent = followed || "Preview of the clip's opening, as it will be cut.";
      form.dataset.previewState = "ready";
    };
    img.onerror = async () => { // the image is not there: the API says why
      const response = await api("GET", path);
      note.textContent = `No preview: ${response.error || "it could not be drawn"}`;
      form.dataset.previewState = "error";
    };
    img.src = url(path);
  }

  async click(event) {
    const previewButton = event.target.closest(".show-preview");
    if (previewButton) {
      const figure = previewButton.form.querySelector(".clip-preview");
      figure.classList.toggle("d-none");
      return this.preview(previewButton.form);
    }
    const seekButton = event.target.closest(".seek");
    if (seekButton) return this.seek(Number(seekButton.dataset.start));
    if (event.target.closest("#process-all")) {
      const response = await api("POST", `/api/videos/${this.videoId}/exchanges/process`);
      this.showError(response.ok ? "" : response.error);
      return this.sections.refresh("exchanges");
    }
    const editButton = event.target.closest(".edit-exchange");
    if (editButton) return this.edit(editButton);
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

  /** Cut a Q&A's clips again with the chosen look: shape (vertical 1080×1920 or square 1080×1080, cropped
      where the slider says), captions (none, clean, highlight, pop), their place and speaker names. */
  async reshape(event) {
    const form = event.target.closest(".clip-shape");
    if (!form) return;
    event.preventDefault();
    const exchange = form.dataset.exchange;
    const changed = await api("PATCH", `/api/exchanges/${exchange}`, this.look(form));
    if (!changed.ok) return this.showError(changed.error);
    await this.cutAgain(exchange);
  }

  /** Cut a Q&A again as it is now (the server starts from its first step not done) and say what started. */
  async cutAgain(exchange) {
    const response = await api("POST", `/api/exchanges/${exchange}/cut`);
    this.showError(response.ok ? "" : response.error);
    if (response.ok) this.note(response.data.message);
    this.sections.refresh("exchanges", "clips");
    return response;
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
