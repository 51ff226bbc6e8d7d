/* The Clips page: choosing a filter shows the result at once; one clip plays at a time (common.js). */
import "./common.js";

for (const select of document.querySelectorAll("#clip-filters select")) {
  select.addEventListener("change", () => select.form.requestSubmit());
}
