/* The details page's sections (templates/video/_<name>.html). The server renders each one; when an
   event says a section changed, it is fetched again and swapped in whole. Fetches of one section never
   overlap, and one asked for during a fetch runs after it, so an answer that predates an event is
   always followed by a newer one. */
import { Clipper } from "../common.js";

export class Sections {
  constructor(videoId, onMissing) {
    this.videoId = videoId;
    this.onMissing = onMissing;
    this.shown = new Map(); // section → the HTML last swapped in
    this.busy = new Set();
    this.again = new Set();
    this.timers = new Map();
    this.hooks = new Map();
    this.holds = new Map(); // section → a test: while it is true, the section is not swapped (a line being corrected)
  }

  /** Keep `name` as it is while `busy()` says so; it is fetched again once it stops. */
  hold(name, busy) {
    this.holds.set(name, busy);
  }

  /** Run `callback(container)` after every swap of `name` (to re-apply what the browser alone knows). */
  after(name, callback) {
    this.hooks.set(name, [...(this.hooks.get(name) || []), callback]);
  }

  refresh(...names) {
    for (const name of names) {
      clearTimeout(this.timers.get(name));
      this.timers.set(name, setTimeout(() => this.load(name), 200));
    }
  }

  container(name) {
    return document.querySelector(`[data-section="${name}"]`);
  }

  async load(name) {
    if (this.busy.has(name)) {
      this.again.add(name);
      return;
    }
    this.busy.add(name);
    try {
      const response = await fetch(Clipper.url(`/partials/videos/${this.videoId}/${name}`), { headers: { Accept: "text/html" } });
      if (response.status === 404) return this.onMissing();
      if (!response.ok) return;
      const html = await response.text();
      const box = this.container(name);
      if (!box || html === this.shown.get(name)) return; // unchanged: a playing clip keeps playing
      if ([...box.querySelectorAll("video")].some((media) => !media.paused) || this.holds.get(name)?.()) {
        setTimeout(() => this.load(name), 2000); // never swap a clip (or a correction) out from under someone
        return;
      }
      this.shown.set(name, html);
      box.innerHTML = html; // our own Jinja template: every value in it was escaped on the server
      Clipper.localTimes(box);
      for (const hook of this.hooks.get(name) || []) hook(box);
    } catch (error) {
      // offline: the live stream shows it, and its next snapshot refreshes every section
    } finally {
      this.busy.delete(name);
      if (this.again.delete(name)) this.load(name);
    }
  }
}
