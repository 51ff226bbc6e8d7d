/* The Search page: from a hit, clip the sentence (cut at once, listed with the clips: not a Q&A), add it as a
   Q&A of its own, or cut the Q&A that holds it. */
import { Clipper } from "./common.js";

const { api, el, icon } = Clipper;
const feedback = document.getElementById("search-feedback");

document.getElementById("hits")?.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-make]");
  if (!button) return;
  const hit = button.closest(".hit");
  const videoId = hit.dataset.video;
  button.disabled = true;
  const make = button.dataset.make;
  const sentence = { start: Number(hit.dataset.start), end: Number(hit.dataset.end), process: true, from_search: make === "sentence" };
  const response = make === "exchange"
    ? await api("POST", `/api/exchanges/${button.dataset.exchange}/process`)
    : await api("POST", `/api/videos/${videoId}/exchanges`, sentence);
  if (!response.ok) {
    button.disabled = false;
    feedback.replaceChildren(el("span", { class: "text-danger" }, response.error));
    return;
  }
  const link = el("a", { href: Clipper.url(`/videos/${videoId}`) }, "the video's page");
  const what = make === "qa" ? `Added as ${response.data.exchange.title} and queued to be cut` : "Queued to be cut";
  feedback.replaceChildren(el("span", { class: "text-success" }, icon("bi-check-lg"), ` ${what}: the clip appears on `, link, " and under Clips."));
});
