/* The Clips page: choosing a filter shows the result at once; one clip plays at a time (common.js). */
import "./common.js";

const form = document.getElementById("clip-filters");
const video = document.getElementById("filter-video");
const who = document.getElementById("filter-who");

who?.addEventListener("change", () => form.requestSubmit());
video?.addEventListener("change", () => {
  // A video's speaker means nothing in another video: someone of the speaker library goes along, as the
  // person; anyone else is let go.
  if (who?.name === "speaker") {
    const person = who.selectedOptions[0]?.dataset.person;
    who.disabled = true;
    if (person) form.append(Object.assign(document.createElement("input"), { type: "hidden", name: "person", value: person }));
  }
  form.requestSubmit();
});
