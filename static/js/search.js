/* The Search page: from a hit, clip the sentence (a Q&A of its own, cut at once) or cut the Q&A that holds it. */
import { Clipper } from "./common.js";

const { api, el, icon } = Clipper;
const feedback = document.getElementById("search-feedback");

document.getElementById("hits")?.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-make]");
  if (!button) return;
  const hit = button.closest(".hit");
  const videoId = hit.dataset.video;
  button.disabled = true;
  const response = button.dataset.make === "exchange"
    ? await api("POST", `/api/exchanges/${button.dataset.exchange}/process`)
    : await api("POST", `/api/videos/${videoId}/exchanges`, { start: Number(hit.dataset.start), end: Number(hit.dataset.end), process: true });
  if (!response.ok) {
    button.disabled = false;
    feedback.replaceChildren(el("span", { class: "text-danger" }, response.error));
    return;
  }
  const link = el("a", { href: Clipper.url(`/videos/${videoId}`) }, "the video's page");
  feedback.replaceChildren(el("span", { class: "text-success" }, icon("bi-check-lg"), " Queued to be cut: the clip appears on ", link, " and under Clips."));
});
