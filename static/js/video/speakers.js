/* Naming speakers: the new name reaches the transcript, the exchanges and the clips at once; a named
   voice can join the speaker library, and a suggested person can be accepted or turned down. */
import { Clipper } from "../common.js";

const { api, el, icon } = Clipper;

export function wireSpeakers(videoId, sections) {
  const feedback = document.getElementById("speakers-feedback");
  const speakerUrl = (label) => `/api/videos/${videoId}/speakers/${encodeURIComponent(label)}`;

  async function send(label, request, saying) {
    const response = await request;
    if (!response.ok) {
      feedback.replaceChildren(el("span", { class: "text-danger" }, `${label}: ${response.error}`));
      return;
    }
    feedback.replaceChildren(el("span", { class: "text-success" }, icon("bi-check-lg"), ` ${saying(response.data.speaker)}`));
    sections.refresh("speakers", "transcript", "exchanges", "clips");
  }

  const container = sections.container("speakers");
  container.addEventListener("submit", (event) => {
    const form = event.target.closest(".speaker-row");
    if (!form) return;
    event.preventDefault();
    const remember = form.elements.remember ? (form.elements.remember.type === "hidden" || form.elements.remember.checked) : false;
    send(form.dataset.label, api("PUT", speakerUrl(form.dataset.label), { name: form.elements.name.value, remember }),
      (speaker) => speaker.person ? `Saved as ${speaker.name}, in the speaker library` : `Saved as ${speaker.name}`);
  });
  container.addEventListener("click", (event) => {
    const button = event.target.closest("[data-suggestion]");
    if (!button) return;
    const label = button.closest(".speaker-row").dataset.label;
    const choice = button.dataset.suggestion;
    send(label, api("POST", `${speakerUrl(label)}/${choice}`),
      (speaker) => choice === "accept" ? `${speaker.name}: recognised` : "Noted: not that person");
  });
}
