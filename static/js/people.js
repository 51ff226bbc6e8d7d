/* A person's page: rename them everywhere, remove them from the library, and pick answers to cut together,
   download as one zip or as one editing timeline. */
import { Clipper } from "./common.js";

const { api, el, icon } = Clipper;

const page = document.getElementById("person");
const personId = page.dataset.person;
const feedback = document.getElementById("person-feedback");
const say = (ok, text) => feedback.replaceChildren(el("span", { class: ok ? "text-success" : "text-danger" }, ok ? icon("bi-check-lg") : "", ` ${text}`));

document.getElementById("rename-person").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await api("PATCH", `/api/people/${personId}`, { name: event.target.elements.name.value });
  if (!response.ok) return say(false, response.error);
  // Every place the page names them says the new name, without a reload.
  document.title = `${response.data.person.name} · Clipper`;
  for (const node of document.querySelectorAll(".person-name")) node.textContent = response.data.person.name;
  say(true, `Renamed to ${response.data.person.name} in every video`);
});

document.getElementById("delete-person").addEventListener("click", async () => {
  const name = page.querySelector("h1").textContent.trim();
  if (!window.confirm(`Remove ${name} from the speaker library? Their videos keep the name; no video will suggest them any more.`)) return;
  const response = await api("DELETE", `/api/people/${personId}`);
  if (response.ok || response.status === 404) window.location.assign(Clipper.url("/people"));
  else say(false, response.error);
});

const picks = () => [...document.querySelectorAll(".answer-pick")];
const chosen = () => picks().filter((box) => box.checked).map((box) => Number(box.value));
const download = document.getElementById("download-answers");
const timelines = [...document.querySelectorAll("#timeline-menu [data-format]")];
const timelineToggle = document.getElementById("timeline-menu-toggle");

function syncSelection() {
  const ids = chosen();
  const all = document.getElementById("select-all-answers");
  if (all) all.checked = ids.length === picks().length;
  const query = ids.length === picks().length ? "" : `?${ids.map((id) => `exchange=${id}`).join("&")}`;
  if (download) {
    if (ids.length) download.href = Clipper.url(`/people/${personId}/answers.zip${query}`);
    else download.removeAttribute("href"); // nothing selected: nothing to download, by any click or key
    download.classList.toggle("disabled", ids.length === 0);
    download.setAttribute("aria-disabled", String(ids.length === 0));
  }
  for (const link of timelines) link.href = Clipper.url(`/api/people/${personId}/timeline.${link.dataset.format}${query}`);
  if (timelineToggle) timelineToggle.disabled = ids.length === 0; // the same selection as one timeline
}

document.getElementById("answers")?.addEventListener("change", syncSelection);
document.getElementById("select-all-answers")?.addEventListener("change", (event) => {
  for (const box of picks()) box.checked = event.target.checked;
  syncSelection();
});
document.getElementById("cut-answers")?.addEventListener("click", async (event) => {
  const ids = chosen();
  if (!ids.length) return say(false, "Select at least one answer first");
  event.target.disabled = true;
  const response = await api("POST", `/api/people/${personId}/answers/cut`, { exchange_ids: ids });
  event.target.disabled = false;
  if (!response.ok) return say(false, response.error);
  say(true, `${ids.length} answer${ids.length === 1 ? "" : "s"} queued to be cut: they appear under each video's clips and here once cut (reload)`);
  for (const id of ids) {
    const state = document.querySelector(`.answer[data-exchange="${id}"] .answer-state`);
    if (state && !state.querySelector(".text-success")) state.replaceChildren(el("span", { class: "text-body-secondary" }, "queued to cut"));
  }
});
syncSelection();
