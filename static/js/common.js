/* Shared by every page (an ES module; base.html loads it, page modules import it): JSON calls, formatting, safe DOM building and the live-update stream.
   Text from the server is always set with textContent (never innerHTML), so titles, transcripts and
   error messages cannot inject markup. HTML fragments come only from our own Jinja templates. */
const Clipper = (() => {
  const root = document.body.dataset.root || "";

  function url(path) {
    return root + path;
  }

  /** Headers every state-changing request carries: the session's CSRF token, when there is one. */
  function csrfHeaders() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta && meta.content ? { "X-CSRF-Token": meta.content } : {};
  }

  /** fetch + JSON; never throws: {ok, status, data, error}. A Blob body is sent as raw bytes. */
  async function api(method, path, body, headers = {}) {
    const options = { method, headers: { Accept: "application/json", ...(method === "GET" ? {} : csrfHeaders()), ...headers } };
    if (body instanceof Blob) {
      options.headers["Content-Type"] = "application/offset+octet-stream";
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url(path), options);
    } catch (error) {
      return { ok: false, status: 0, data: null, error: "the server cannot be reached: check that Clipper is running" };
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("application/json")) {
      data = await response.json().catch(() => null);
    }
    let error = response.ok ? null : (data && data.error) || `${response.status} ${response.statusText}`;
    if (response.status === 401) error = `${error}. Reload the page to log in again.`;
    return { ok: response.ok, status: response.status, data, error };
  }

  async function fragment(path) {
    try {
      const response = await fetch(url(path), { headers: { Accept: "text/html" } });
      return response.ok ? await response.text() : null;
    } catch (error) {
      return null;
    }
  }

  /** 65.2 → "1:05" (or "1:05.2" with decimals); hours when needed. */
  function clock(seconds, decimals = 0) {
    if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "";
    const value = Math.max(0, Number(seconds));
    const hours = Math.floor(value / 3600);
    const minutes = Math.floor((value % 3600) / 60);
    let secs = (value % 60).toFixed(decimals);
    if (Number(secs) >= 60) secs = (59.999).toFixed(decimals);
    const padded = secs.padStart(decimals ? 3 + decimals : 2, "0");
    return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${padded}` : `${minutes}:${padded}`;
  }

  /** Seconds between two ISO times (or until now), as "12 s" / "3 min 4 s". */
  function span(startIso, endIso) {
    if (!startIso) return "";
    const start = Date.parse(startIso);
    const end = endIso ? Date.parse(endIso) : Date.now();
    const seconds = Math.max(0, Math.round((end - start) / 1000));
    if (end - start < 1000) return "<1 s";
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  const loadedAt = Date.now(); // when the server rendered what the page first shows, near enough

  /** "about 3 min left": the server's estimate (`seconds`, learned from this install's speeds and the step's
      pace) counted down from when it came (`since`, ms; the page load when not given); "" while it has none. */
  function timeLeft(seconds, since) {
    if (seconds === "" || seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "";
    const left = Math.round(Number(seconds) - (Date.now() - Number(since || loadedAt)) / 1000);
    if (left < 5) return "almost done";
    if (left < 60) return `about ${Math.ceil(left / 5) * 5} s left`;
    if (left < 3600) return `about ${Math.round(left / 60)} min left`;
    return `about ${Math.floor(left / 3600)} h ${Math.round((left % 3600) / 60)} min left`;
  }

  /** The navbar's count of steps in error, as the server last said it (an `errors` event or a snapshot). */
  function showErrorCount(count) {
    const link = document.querySelector(`#main-nav a[href="${url("/errors")}"]`);
    if (!link || typeof count !== "number") return;
    let badge = document.getElementById("error-count");
    if (!count) return badge?.remove();
    if (!badge) {
      badge = el("span", { class: "badge rounded-pill text-bg-danger", id: "error-count", title: "Steps in error" });
      link.append(" ", badge);
    }
    badge.textContent = String(count);
  }

  /** Where a queued step stands in line, from the server's queue positions: "next in line", "3 ahead". */
  function inLine(ahead, stepId) {
    const count = (ahead || {})[stepId];
    if (count === undefined) return "";
    return count === 0 ? "next in line" : `${count} ahead in line`;
  }

  function localTimes(scope = document) {
    for (const node of scope.querySelectorAll("time[datetime]")) {
      const when = new Date(node.getAttribute("datetime"));
      if (!Number.isNaN(when.getTime())) {
        node.textContent = when.toLocaleString();
        node.title = node.getAttribute("datetime");
      }
    }
  }

  /** el("a", {href: "/x", class: "btn"}, "text", child) — strings become text nodes. */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "style") Object.assign(node.style, value);
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function icon(name) {
    return el("i", { class: `bi ${name}`, "aria-hidden": "true" });
  }

  const STATES = ["pending", "queued", "running", "done", "error", "stale", "partial"];

  function setState(node, state) {
    for (const name of STATES) node.classList.remove(`state-${name}`);
    node.classList.add(`state-${state}`);
    node.dataset.state = state;
  }

  function debounce(fn, ms = 250) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  function alertBox(kind, ...children) {
    return el("div", { class: `alert alert-${kind} py-2 mb-2`, role: kind === "danger" ? "alert" : "status" }, ...children);
  }

  /** Records the events that arrive while a refetch is in flight, so they can be applied again on
      top of its answer: that answer may predate them, and the page must not stay behind. */
  class Recorder {
    constructor() {
      this.buffers = new Set();
    }

    record(event) {
      for (const buffer of this.buffers) buffer.push(event);
    }

    async during(work) {
      const buffer = [];
      this.buffers.add(buffer);
      try {
        return [await work(), buffer];
      } finally {
        this.buffers.delete(buffer);
      }
    }
  }

  /** EventSource on /events with a status badge. EventSource reconnects by itself after a dropped
      stream (sending Last-Event-ID); when the server refused it (503, full) we reopen it ourselves,
      passing the last id in the URL so nothing is missed. */
  class LiveStream {
    constructor(path, onEvent) {
      this.path = path;
      this.onEvent = onEvent;
      this.lastId = null;
      this.delay = 2000;
      this.redisDown = false;
      this.badge = document.getElementById("live-status");
      this.source = null;
      window.addEventListener("pagehide", () => this.close());
      this.open();
    }

    open() {
      let target = url(this.path);
      if (this.lastId) target += `${target.includes("?") ? "&" : "?"}last_id=${encodeURIComponent(this.lastId)}`;
      const source = new EventSource(target);
      this.source = source;
      source.onopen = () => {
        this.delay = 2000;
        this.show(this.redisDown ? "paused" : "live");
      };
      source.onmessage = (message) => {
        if (message.lastEventId) this.lastId = message.lastEventId;
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (error) {
          return;
        }
        if (data.type === "status") {
          this.redisDown = data.redis === "down";
          this.show(this.redisDown ? "paused" : "live");
        }
        if (data.type === "errors") showErrorCount(data.count);
        else if (data.type === "snapshot") showErrorCount(data.error_count);
        this.onEvent(data);
      };
      source.onerror = () => {
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          this.show("offline");
          setTimeout(() => this.open(), this.delay);
          this.delay = Math.min(this.delay * 2, 30000);
        } else {
          this.show("reconnecting");
        }
      };
    }

    close() {
      if (this.source) this.source.close();
    }

    show(status) {
      if (!this.badge) return;
      const looks = {
        live: ["text-bg-success", "bi-broadcast", "Live", "Changes appear as they happen"],
        reconnecting: ["text-bg-warning", "bi-arrow-repeat", "Reconnecting…", "The live connection dropped; reconnecting"],
        offline: ["text-bg-danger", "bi-wifi-off", "Live updates offline", "Cannot reach the server; retrying. Reload to see the latest state."],
        paused: ["text-bg-danger", "bi-pause-circle", "Live updates paused", "The server cannot reach Redis; updates resume when it is back"],
      }[status];
      this.badge.className = `badge rounded-pill ${looks[0]}`;
      this.badge.replaceChildren(icon(looks[1]), ` ${looks[2]}`);
      this.badge.title = looks[3];
      this.badge.dataset.status = status;
    }
  }

  document.addEventListener("DOMContentLoaded", () => localTimes());

  // One thing plays at a time on every page: starting a video or a clip pauses the others.
  document.addEventListener("play", (event) => {
    for (const media of document.querySelectorAll("video, audio")) if (media !== event.target && !media.paused) media.pause();
  }, true);

  // The menu folds behind a button on narrow screens (Bootstrap's CSS, this small toggle instead of its JS).
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-nav-toggle]");
    if (!toggle) return;
    const menu = document.getElementById(toggle.getAttribute("aria-controls"));
    const open = menu.classList.toggle("show");
    toggle.setAttribute("aria-expanded", String(open));
  });

  // Bootstrap's dropdown markup (its CSS, this toggle instead of its JS): a [data-menu-toggle] button opens
  // the .dropdown-menu it controls; a click elsewhere, a chosen item or Escape closes it.
  function closeMenus(except = null) {
    for (const toggle of document.querySelectorAll('[data-menu-toggle][aria-expanded="true"]')) {
      if (toggle === except) continue;
      toggle.setAttribute("aria-expanded", "false");
      document.getElementById(toggle.getAttribute("aria-controls"))?.classList.remove("show");
    }
  }
  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-menu-toggle]");
    closeMenus(toggle);
    if (!toggle) return;
    const menu = document.getElementById(toggle.getAttribute("aria-controls"));
    menu.classList.add("dropdown-menu-end"); // under the button's right edge, or its left one if that fits better
    const open = menu.classList.toggle("show");
    if (open && menu.getBoundingClientRect().left < 0) menu.classList.remove("dropdown-menu-end");
    toggle.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const open = document.querySelector('[data-menu-toggle][aria-expanded="true"]');
    closeMenus();
    if (open && open.closest(".dropdown").contains(document.activeElement)) open.focus();
  });

  return { url, csrfHeaders, api, fragment, clock, span, timeLeft, inLine, localTimes, el, icon, setState, debounce, alertBox, Recorder, LiveStream };
})();

export { Clipper };
