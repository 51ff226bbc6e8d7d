/* A video's details page. The server renders every section (templates/video/_*.html); this module
   keeps them live from /events?video=<id>: progress is patched in place, and a section whose content
   changed is fetched again from the server, so the browser never re-derives what the server decides
   (which steps may run, what a speaker is called, which clips exist). */
import { Clipper } from "../common.js";
import { Editor } from "./editor.js";
import { Exchanges } from "./exchanges.js";
import { Panel } from "./panel.js";
import { keepPlayerInSight } from "./player.js";
import { Sections } from "./sections.js";
import { wireSpeakers } from "./speakers.js";
import { Transcript } from "./transcript.js";

const { api, clock, setState, LiveStream } = Clipper;

const page = document.getElementById("video-page");
const videoId = Number(page.dataset.videoId);
const player = document.getElementById("player");
let deleted = false;

function showPageError(message) {
  const box = document.getElementById("page-alert");
  box.textContent = message;
  box.classList.toggle("d-none", !message);
}

let noteTimer = null;

/** Say what an action started ("Cutting Q&A 3 again: 3 clips"), at the top of the window for a while. */
function note(message) {
  const box = document.getElementById("page-note");
  box.textContent = message;
  clearTimeout(noteTimer);
  noteTimer = setTimeout(() => { box.textContent = ""; }, 8000);
}

function markDeleted() {
  deleted = true;
  document.getElementById("deleted-alert").classList.remove("d-none");
  for (const button of page.querySelectorAll("button")) button.disabled = true;
}

const sections = new Sections(videoId, markDeleted);
sections.after("panel", () => deleted && markDeleted());
sections.after("exchanges", () => deleted && markDeleted());
const panel = new Panel(videoId, sections, showPageError);
keepPlayerInSight(player);
const transcript = new Transcript(videoId, sections, player, () => sections.refresh("exchanges", "clips"), note);
const editor = new Editor(player, {
  onChanged: () => sections.refresh("exchanges", "clips"),
  cutAgain: (exchangeId) => exchanges.cutAgain(exchangeId),
});
const exchanges = new Exchanges(videoId, sections, transcript.seek, showPageError, { note, edit: (button) => editor.open(button) });
sections.after("transcript", () => editor.wordsChanged());
wireSpeakers(videoId, sections);

// A link from a search hit or an answer elsewhere (/videos/<id>#t=<seconds>) starts playing from there.
const startAt = Number((window.location.hash.match(/^#t=([\d.]+)$/) || [])[1]);
if (startAt >= 0 && window.location.hash) transcript.seek(startAt);

document.getElementById("delete-video").addEventListener("click", async () => {
  const title = document.getElementById("video-title").textContent;
  if (!window.confirm(`Delete "${title}" with its download, transcript and clips? This cannot be undone.`)) return;
  const response = await api("DELETE", `/api/videos/${videoId}`);
  if (response.ok || response.status === 404) window.location.assign(Clipper.url("/"));
  else showPageError(response.error);
});

// Clips out of date (their Q&A changed since, or failed to cut): cut it again, saying what started.
// A clip whose burned-in captions are out of date: cut its Q&A again, captions burned in as before.
sections.container("clips").addEventListener("click", async (event) => {
  const again = event.target.closest(".cut-again");
  if (again) {
    again.disabled = true;
    await exchanges.cutAgain(again.dataset.exchange);
    return;
  }
  const button = event.target.closest(".recut");
  if (!button) return;
  button.disabled = true;
  const response = await api("POST", `/api/exchanges/${button.dataset.exchange}/steps/cut_clips`, { captions: button.dataset.captions });
  showPageError(response.ok ? "" : response.error);
  sections.refresh("exchanges", "clips");
});

/** The video's own fields (title, player, size...) once the download or the audio step fills them. */
async function refreshVideo() {
  const response = await api("GET", `/api/videos/${videoId}`);
  if (response.status === 404) return markDeleted();
  if (!response.ok) return;
  const video = response.data;
  document.getElementById("video-title").textContent = video.title || video.url;
  document.title = `${video.title || video.url} · Clipper`;
  const fields = { uploader: video.uploader || "—", duration: video.duration ? clock(video.duration) : "—" };
  for (const [name, text] of Object.entries(fields)) {
    const node = document.querySelector(`[data-field="${name}"]`);
    if (node) node.textContent = text;
  }
  const size = document.querySelector('[data-field="size"]');
  if (size && video.width) size.firstChild.textContent = `${video.width}×${video.height} `;
  if (video.video_path && !player.getAttribute("src")) {
    player.src = Clipper.url(`/media/videos/${videoId}`);
    player.classList.remove("d-none");
    document.getElementById("player-empty").classList.add("d-none");
  }
  if (video.video_path) document.getElementById("download-source").classList.remove("d-none");
  showStatus(video.status, video.status_text);
}

function showStatus(status, text) {
  const badge = document.getElementById("video-status");
  badge.textContent = text || status;
  setState(badge, status);
}

// What a finished phase-1 step changes besides the panel.
const FOLLOW = {
  download: ["video"], audio: ["video"], transcribe: ["transcript"], diarize: ["speakers", "transcript"],
  exchanges: ["exchanges", "transcript"],
};

function onStep(event) {
  if (event.video_status) showStatus(event.video_status, event.status_text);
  if (event.exchange_id !== null && event.exchange_id !== undefined) {
    editor.stepChanged(event);
    if (exchanges.apply(event)) sections.refresh("exchanges", "clips"); // the clips say "being cut", "out of date"
    if (event.name === "cut_clips" && event.state === "done") sections.refresh("clips");
    return;
  }
  if (!panel.apply(event)) return;
  sections.refresh("panel", "exchanges"); // what may run next, here and in the exchanges
  if (event.state !== "done") return;
  for (const part of FOLLOW[event.name] || []) part === "video" ? refreshVideo() : sections.refresh(part);
}

let firstSnapshot = true;

/** Whether anything may have changed since the page was rendered: a step's state differs, or work is
    under way (a transcript streams in while it runs). */
function changedSinceRendered(snapshot) {
  const video = (snapshot.videos || []).find((item) => item.id === videoId);
  const busy = (step) => step.state === "queued" || step.state === "running";
  if ((video ? video.steps : []).some(busy) || (snapshot.exchange_steps || []).some(busy)) return true;
  const phase1 = (video ? video.steps : []).some((step) => { // a pending optional step has no row (translate)
    const row = panel.row(step.name);
    return row ? row.dataset.state !== step.state : step.state !== "pending";
  });
  const phase2 = (snapshot.exchange_steps || []).some((step) => {
    const button = document.querySelector(`.phase2-step[data-exchange="${step.exchange_id}"][data-step="${step.name}"]`);
    return !button || button.dataset.state !== step.state;
  });
  return phase1 || phase2;
}

new LiveStream(`/events?video=${videoId}`, (event) => {
  switch (event.type) {
    case "snapshot":
      if ((event.missing || []).includes(videoId)) return markDeleted();
      panel.setQueue(event.ahead);
      // The first snapshot closes the gap between rendering and connecting: the sections are fetched
      // again only if a step changed in it. A later snapshot follows a gap: everything is fetched again.
      if (!firstSnapshot || changedSinceRendered(event)) {
        sections.refresh("panel", "speakers", "transcript", "exchanges", "clips");
        refreshVideo();
      }
      firstSnapshot = false;
      return;
    case "step": return onStep(event);
    case "queue": return panel.setQueue(event.ahead);
    case "video": return refreshVideo();
    case "video_deleted": return markDeleted();
    case "transcript": return sections.refresh("transcript");
    case "speakers": return sections.refresh("speakers", "transcript", "exchanges", "clips");
    case "exchanges": return sections.refresh("exchanges", "clips");
    case "clips": return sections.refresh("clips");
    default:
  }
});
