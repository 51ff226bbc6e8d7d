/* Dashboard: submit links and uploads, select and delete, and keep the jobs table live. */
import { Clipper } from "./common.js";

(() => {
  const { api, fragment, el, setState, debounce, alertBox, localTimes, timeLeft, inLine, Recorder, LiveStream } = Clipper;
  let ahead = {}; // where each queued step stands in line, by step id

  const form = document.getElementById("submit-form");
  const urls = document.getElementById("urls");
  const result = document.getElementById("submit-result");
  const submitButton = document.getElementById("submit-button");
  const fileInput = document.getElementById("upload-file");
  const uploadProgress = document.getElementById("upload-progress");
  const jobs = document.getElementById("jobs");
  const deleteButton = document.getElementById("delete-selected");
  const count = document.getElementById("video-count");

  function currentPage() {
    const table = jobs.querySelector("[data-page]");
    return table ? Number(table.dataset.page) : 1;
  }

  function options() {
    const body = {
      resolution: document.getElementById("resolution").value,
      auto: autoSwitch.checked,
      clips: clipsSwitch.checked,
    };
    const speakers = document.getElementById("num-speakers").value.trim();
    if (speakers) body.num_speakers = speakers;
    return body;
  }

  // Cutting clips of every exchange continues the whole pipeline, so one implies the other.
  const autoSwitch = document.getElementById("auto");
  const clipsSwitch = document.getElementById("clips");
  clipsSwitch.addEventListener("change", () => {
    if (clipsSwitch.checked) autoSwitch.checked = true;
  });
  autoSwitch.addEventListener("change", () => {
    if (!autoSwitch.checked) clipsSwitch.checked = false;
  });

  // The options are remembered in this browser: the next visit starts from the last choices.
  const REMEMBERED = "clipper.submit-options";
  const optionFields = { resolution: "value", auto: "checked", clips: "checked", "num-speakers": "value" };

  function restoreOptions() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(REMEMBERED) || "{}");
    } catch (error) {
      return;
    }
    for (const [id, property] of Object.entries(optionFields)) {
      if (saved[id] !== undefined) document.getElementById(id)[property] = saved[id];
    }
  }

  function rememberOptions() {
    const saved = Object.fromEntries(Object.entries(optionFields).map(([id, property]) => [id, document.getElementById(id)[property]]));
    try {
      localStorage.setItem(REMEMBERED, JSON.stringify(saved));
    } catch (error) {
      // private mode or storage full: options are simply not remembered
    }
  }

  restoreOptions();
  for (const id of Object.keys(optionFields)) document.getElementById(id).addEventListener("change", rememberOptions);

  // ---- results ---------------------------------------------------------------------------------

  /** The outcome of sending links or a file, in boxes; `shown` (the boxes of what was sent just before, in
      the same click) stay above them. */
  function showResult(response, what, shown = []) {
    const data = response.data || {};
    const created = data.videos || [];
    const rejected = data.rejected || [];
    const boxes = [];
    if (created.length) {
      boxes.push(alertBox("success", `Added ${created.length} ${what}${created.length === 1 ? "" : "s"}: `,
        ...created.map((video, index) => [index ? ", " : "", el("a", { href: Clipper.url(`/videos/${video.id}`) }, `#${video.id}`)])));
    }
    const existing = data.existing || [];
    if (existing.length) {
      const again = el("button", { type: "button", class: "btn btn-sm btn-outline-secondary ms-2" }, "Process again");
      again.addEventListener("click", () => processAgain(existing));
      boxes.push(alertBox("warning", `Already in the library, so not added again: `,
        ...existing.map((item, index) => [index ? ", " : "", el("a", { href: Clipper.url(`/videos/${item.video_id}`) }, `#${item.video_id}`)]),
        again));
    }
    if (data.warning) boxes.push(alertBox("warning", data.warning));
    if (!response.ok && (!rejected.length || response.status !== 400)) boxes.push(alertBox("danger", response.error));
    if (rejected.length) {
      boxes.push(alertBox("danger",
        `${rejected.length} link${rejected.length === 1 ? " was" : "s were"} not accepted:`,
        el("ul", { class: "result-list" }, rejected.map((item) => el("li", {}, el("code", {}, item.url || "(empty)"), ` — ${item.error}`)))));
    }
    result.replaceChildren(...shown, ...boxes);
    return [...shown, ...boxes];
  }

  // ---- one button for links and a file: it says what it will do ----------------------------------

  function linkCount() {
    return urls.value.split("\n").filter((line) => line.trim()).length;
  }

  function short(name, most = 32) {
    return name.length > most ? `${name.slice(0, most - 1)}…` : name;
  }

  function describeSubmit() {
    const links = linkCount();
    const file = fileInput.files[0];
    const parts = [];
    if (links) parts.push(`Add ${links} video${links === 1 ? "" : "s"}`);
    if (file) parts.push(`${links ? "upload" : "Upload"} ${short(file.name)}`);
    submitButton.querySelector(".submit-label").textContent = parts.join(" and ") || "Add videos";
    submitButton.querySelector(".bi").className = `bi ${file && !links ? "bi-upload" : "bi-plus-lg"}`;
  }

  urls.addEventListener("input", describeSubmit);
  fileInput.addEventListener("change", describeSubmit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = urls.value;
    const file = fileInput.files[0];
    if (!text.trim() && !file) {
      result.replaceChildren(alertBox("warning", "Paste at least one video link (one per line) or choose a file first."));
      urls.focus();
      return;
    }
    submitButton.disabled = true;
    try {
      const shown = text.trim() ? await submitLinks(text) : [];
      if (file) await uploadFile(file, shown);
    } finally {
      submitButton.disabled = false;
      describeSubmit();
    }
  });

  async function processAgain(existing) {
    const added = [];
    const failures = [];
    for (const item of existing) {
      const response = await api("POST", `/api/videos/${item.video_id}/again`, options());
      if (response.ok) added.push(response.data.video);
      else failures.push(`${item.url}: ${response.error}`);
    }
    showResult({ ok: !failures.length, status: failures.length ? 400 : 201, error: failures.join("; "), data: { videos: added } }, "video");
    refreshTable();
  }

  async function submitLinks(text) {
    const response = await api("POST", "/api/videos", { urls: text, ...options() });
    const shown = showResult(response, "video");
    if (response.ok) {
      // Keep only what was refused, so it can be fixed and sent again; accepted links are done.
      const refused = (response.data.rejected || []).map((item) => item.url).filter((line) => line.trim());
      urls.value = refused.length ? `${refused.join("\n")}\n` : "";
      refreshTable();
    }
    return shown;
  }

  // ---- uploading a file ------------------------------------------------------------------------

  // The server takes at most one chunk (1 MiB) per request, so a file of any size goes up in pieces;
  // a piece that fails is retried from the offset the server reports, so a dropped connection costs a chunk.
  async function sendChunks(upload, file, bar) {
    let offset = upload.offset;
    let failures = 0;
    while (true) {
      const chunk = file.slice(offset, offset + upload.chunk_bytes);
      const response = await api("PATCH", `/api/uploads/${upload.id}`, chunk, { "Upload-Offset": String(offset) });
      if (response.status === 201) return response;
      if (response.ok || response.status === 409) {
        offset = response.data.offset;
        failures = 0;
      } else if (response.status === 0 && failures < 5) {
        failures += 1;
        await new Promise((resolve) => setTimeout(resolve, 1000 * failures));
        const status = await api("GET", `/api/uploads/${upload.id}`);
        if (status.ok) offset = status.data.offset;
        continue;
      } else {
        return response;
      }
      bar.style.width = `${(100 * offset) / file.size}%`;
    }
  }

  async function uploadFile(file, shown) {
    const limitMb = Number(fileInput.dataset.maxMb);
    if (limitMb && file.size > limitMb * 1024 * 1024) {
      result.replaceChildren(...shown, alertBox("danger", `${file.name} is larger than the upload limit of ${limitMb} MB.`));
      return;
    }
    const bar = uploadProgress.querySelector(".progress-bar");
    bar.style.width = "0%";
    uploadProgress.classList.remove("d-none");
    try {
      const started = await api("POST", "/api/uploads", { filename: file.name, size: file.size, ...options() });
      const response = started.ok ? await sendChunks(started.data, file, bar) : started;
      showResult(response, "upload", shown);
      if (response.ok) {
        fileInput.value = "";
        refreshTable();
      }
    } finally {
      uploadProgress.classList.add("d-none");
    }
  }

  // ---- selection and deleting ------------------------------------------------------------------

  function selectedIds() {
    return [...jobs.querySelectorAll(".select-video:checked")].map((box) => Number(box.value));
  }

  function updateSelection() {
    const boxes = [...jobs.querySelectorAll(".select-video")];
    const chosen = boxes.filter((box) => box.checked).length;
    const all = jobs.querySelector("#select-all");
    if (all) {
      all.checked = boxes.length > 0 && chosen === boxes.length;
      all.indeterminate = chosen > 0 && chosen < boxes.length;
    }
    deleteButton.disabled = chosen === 0;
    deleteButton.replaceChildren(Clipper.icon("bi-trash"), chosen ? ` Delete selected (${chosen})` : " Delete selected");
  }

  jobs.addEventListener("change", (event) => {
    if (event.target.id === "select-all") {
      for (const box of jobs.querySelectorAll(".select-video")) box.checked = event.target.checked;
    }
    updateSelection();
  });

  deleteButton.addEventListener("click", async () => {
    const ids = selectedIds();
    if (!ids.length) return;
    const what = ids.length === 1 ? "this video" : `these ${ids.length} videos`;
    if (!window.confirm(`Delete ${what} with their downloads, transcripts and clips? This cannot be undone.`)) return;
    deleteButton.disabled = true;
    const failures = [];
    for (const id of ids) {
      const response = await api("DELETE", `/api/videos/${id}`);
      if (!response.ok && response.status !== 404) failures.push(`#${id}: ${response.error}`);
      else jobs.querySelector(`tr[data-video-id="${id}"]`)?.remove();
    }
    result.replaceChildren(failures.length
      ? alertBox("danger", `Some videos were not deleted: ${failures.join("; ")}`)
      : alertBox("success", `Deleted ${ids.length} video${ids.length === 1 ? "" : "s"}.`));
    refreshTable();
  });

  // ---- live updates ----------------------------------------------------------------------------

  const recorder = new Recorder();

  const refreshTable = debounce(async () => {
    const [html, missed] = await recorder.during(() => fragment(`/partials/videos?page=${currentPage()}`));
    if (html === null) return;
    const chosen = new Set(selectedIds());
    jobs.innerHTML = html; // our own template: every value in it was escaped by Jinja
    for (const badge of jobs.querySelectorAll(".step-badge[data-seconds-left]")) badge.dataset.leftAt = String(Date.now());
    for (const box of jobs.querySelectorAll(".select-video")) box.checked = chosen.has(Number(box.value));
    const table = jobs.querySelector("[data-total]");
    if (table) count.textContent = table.dataset.total;
    localTimes(jobs);
    updateSelection();
    for (const step of missed) applyStep(step);
    applyQueue(ahead);
  }, 300);

  function applyStep(step) {
    recorder.record(step);
    const row = jobs.querySelector(`tr[data-video-id="${step.video_id}"]`);
    if (!row) {
      // A video newer than every row (another tab, a playlist entry, an upload) belongs on page 1.
      const ids = [...jobs.querySelectorAll("tr[data-video-id]")].map((node) => Number(node.dataset.videoId));
      if (currentPage() === 1 && step.video_id > Math.max(0, ...ids)) refreshTable();
      return;
    }
    showStanding(row, step);
    if (step.exchange_id !== null && step.exchange_id !== undefined) return; // a clip step: only the status says it
    const badge = row.querySelector(`.step-badge[data-step="${step.name}"]`);
    if (!badge) return refreshTable();
    if (step.state === "error" || badge.dataset.state === "error") refreshTable(); // the error line comes or goes
    setState(badge, step.state);
    badge.dataset.progress = step.progress;
    badge.dataset.stepId = step.id;
    if (step.started_at !== undefined) badge.dataset.startedAt = step.started_at || "";
    if (step.seconds_left !== undefined) {
      badge.dataset.secondsLeft = step.seconds_left ?? "";
      badge.dataset.leftAt = String(Date.now());
    }
    badge.title = `${badge.textContent}: ${step.state}${step.error ? `. ${step.error}` : ""}${step.note ? ` (${step.note})` : ""}`;
    showRunning(row);
  }

  /** The video's status as the server put it ("cutting clips 2/4"): never derived here. */
  function showStanding(row, step) {
    if (!step.video_status) return;
    const status = row.querySelector(".video-status");
    setState(status, step.video_status);
    status.textContent = step.status_text || step.video_status;
  }

  /** A bar per running step, with the server's estimate of its time left (counted down between events),
      and a line per queued step saying where it stands in line. */
  function showRunning(row) {
    const list = row.querySelector(".step-progress-list");
    if (!list) return;
    const running = [...row.querySelectorAll('.step-badge[data-state="running"]')];
    const waiting = [...row.querySelectorAll('.step-badge[data-state="queued"]')]
      .map((badge) => [badge, inLine(ahead, badge.dataset.stepId)])
      .filter(([, line]) => line)
      .map(([badge, line]) => el("div", { class: "small text-body-secondary step-in-line", dataset: { step: badge.dataset.step } },
        `${badge.textContent}: ${line}`));
    list.replaceChildren(...waiting, ...running.map((badge) => {
      const fraction = Number(badge.dataset.progress || 0);
      const percent = Math.round(100 * fraction);
      const left = timeLeft(badge.dataset.secondsLeft, badge.dataset.leftAt);
      return el("div", { class: "progress step-progress", role: "progressbar", "aria-label": `${badge.textContent} progress`,
        "aria-valuenow": String(percent), "aria-valuemin": "0", "aria-valuemax": "100", dataset: { step: badge.dataset.step } },
      el("div", { class: "progress-bar progress-bar-striped progress-bar-animated", style: { width: `${percent}%` } },
        `${badge.textContent} ${percent}%${left ? ` · ${left}` : ""}`));
    }));
  }

  let firstSnapshot = true;

  function applyQueue(positions) {
    ahead = positions || {};
    for (const row of jobs.querySelectorAll("tr[data-video-id]")) showRunning(row);
  }

  function applySnapshot(snapshot) {
    ahead = snapshot.ahead || {};
    // The first snapshot closes the gap between rendering this page and connecting: patch what it
    // knows, and reload the table only if a row shows a step under way that no longer is.
    for (const step of snapshot.active || []) applyStep(step);
    const shown = jobs.querySelectorAll('.step-badge[data-state="queued"], .step-badge[data-state="running"]');
    const stale = [...shown].some((badge) => {
      const row = badge.closest("tr");
      return !(snapshot.active || []).some((step) => step.video_id === Number(row.dataset.videoId) && step.name === badge.dataset.step);
    });
    if (!firstSnapshot || stale || String(snapshot.total) !== count.textContent.trim()) refreshTable();
    firstSnapshot = false;
  }

  new LiveStream("/events", (event) => {
    if (event.type === "snapshot") applySnapshot(event);
    else if (event.type === "step") applyStep(event);
    else if (event.type === "queue") applyQueue(event.ahead);
    else if (event.type === "video" || event.type === "video_deleted") refreshTable();
  });

  // The time left counts down between events: what each bar says is brought up to date every few seconds.
  setInterval(() => {
    for (const row of jobs.querySelectorAll("tr[data-video-id]")) {
      if (row.querySelector('.step-badge[data-state="running"]')) showRunning(row);
    }
  }, 5000);

  describeSubmit();
  updateSelection();
})();
