/* The player stays in sight: when it scrolls out of view while playing, it docks in a corner as a
   mini player (bottom right on a desktop, bottom edge on a phone) so the transcript, the Q&A and the
   clips can be read while it plays; it goes back when its place scrolls into view, or when closed. */

export function keepPlayerInSight(player) {
  const box = player.closest(".player-box");
  const close = box.querySelector(".mini-close");
  let inView = true;
  const dock = (on) => {
    box.classList.toggle("docked", on);
    close.classList.toggle("d-none", !on);
  };
  new IntersectionObserver(([entry]) => {
    inView = entry.isIntersecting;
    if (inView) dock(false);
    else if (!player.paused) dock(true);
  }, { threshold: 0.2 }).observe(box);
  // Pressing play (or a transcript word, or a Q&A's play button) while the place is out of view docks it.
  player.addEventListener("play", () => {
    if (!inView) dock(true);
  });
  close.addEventListener("click", () => {
    player.pause();
    dock(false);
  });
}
