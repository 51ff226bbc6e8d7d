/* Error log: retry a failed step, and follow what happens to it (and to new errors) live. */
import { Clipper } from "./common.js";

(() => {
  const { api, fragment, setState, debounce, localTimes, Recorder, LiveStream } = Clipper;

  const list = document.getElementById("errors");

  const recorder = new Recorder();

  const refresh = debounce(async () => {
    const [html, missed] = await recorder.during(() => fragment("/partials/errors"));
    if (html === null) return;
    list.innerHTML = html; // our own template: every value in it was escaped by Jinja
    localTimes(list);
    for (const step of missed) showIfListed(step);
  }, 500);

  function showIfListed(step) {
    const row = list.querySelector(`tr[data-step-id="${step.id}"]`);
    if (row) showState(row, step.state);
  }

  list.addEventListener("click", async (event) => {
    const button = event.target.closest(".retry");
    if (!button) return;
    const row = button.closest("tr");
    const { videoId, exchangeId, step } = button.dataset;
    const path = exchangeId ? `/api/exchanges/${exchangeId}/steps/${step}` : `/api/videos/${videoId}/steps/${step}`;
    button.disabled = true;
    const response = await api("POST", path);
    const result = row.querySelector(".retry-result");
    if (response.ok) {
      result.textContent = "";
      showState(row, response.data.step.state);
    } else {
      result.textContent = response.error;
      button.disabled = false;
    }
  });

  // A wrong link can be corrected here, then retried.
  list.addEventListener("submit", async (event) => {
    const form = event.target.closest(".edit-link");
    if (!form) return;
    event.preventDefault();
    const row = form.closest("tr");
    const result = row.querySelector(".retry-result");
    const response = await api("PATCH", `/api/videos/${form.dataset.videoId}`, { url: form.elements.url.value.trim() });
    result.className = `retry-result ${response.ok ? "text-success" : "text-danger"}`;
    result.textContent = response.ok ? "Link saved: press Retry." : response.error;
  });

  function showState(row, state) {
    const badge = row.querySelector(".step-state");
    setState(badge, state);
    badge.textContent = state;
    row.querySelector(".retry").disabled = state === "queued" || state === "running";
  }

  function applyStep(step) {
    recorder.record(step);
    const row = list.querySelector(`tr[data-step-id="${step.id}"]`);
    if (row) {
      showState(row, step.state);
      if (step.state === "error") refresh(); // failed again: its message and time changed
    } else if (step.state === "error") {
      refresh();
    }
  }

  let firstSnapshot = true;

  new LiveStream("/events", (event) => {
    if (event.type === "step") applyStep(event);
    else if (event.type === "video_deleted") refresh();
    else if (event.type === "snapshot") {
      if (!firstSnapshot) refresh();
      firstSnapshot = false;
    }
  });
})();
