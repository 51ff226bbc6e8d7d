/* Renaming a speaker: the new name reaches the transcript, the exchanges and the clips at once. */
import { Clipper } from "../common.js";

const { api, el, icon } = Clipper;

export function wireSpeakers(videoId, sections) {
  const feedback = document.getElementById("speakers-feedback");
  sections.container("speakers").addEventListener("submit", async (event) => {
    const form = event.target.closest(".speaker-row");
    if (!form) return;
    event.preventDefault();
    const label = form.dataset.label;
    const response = await api("PUT", `/api/videos/${videoId}/speakers/${encodeURIComponent(label)}`, { name: form.elements.name.value });
    if (!response.ok) {
      feedback.replaceChildren(el("span", { class: "text-danger" }, `${label}: ${response.error}`));
      return;
    }
    feedback.replaceChildren(el("span", { class: "text-success" }, icon("bi-check-lg"), ` Saved as ${response.data.speaker.name}`));
    sections.refresh("speakers", "transcript", "exchanges", "clips");
  });
}
