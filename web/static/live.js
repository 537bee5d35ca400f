// ysim web: the tick slider, and pages that follow the run.
//
// A page on the latest tick (body data-follow="latest") asks /api/latest every data-poll-ms; when
// a newer tick has committed it fetches the page again and swaps in its tick bar and content, so
// the page shows the new tick without a reload. A page on a chosen tick stays on it.
(() => {
  "use strict";
  const body = document.body;

  document.addEventListener("input", (event) => {
    if (event.target.id === "tick-slider") {
      const shown = document.getElementById("tick-shown");
      if (shown) shown.textContent = event.target.value;
    }
  });
  document.addEventListener("change", (event) => {
    if (event.target.id === "tick-slider") event.target.form.submit();
  });

  if (body.dataset.follow !== "latest") return;
  const every = Number(body.dataset.pollMs) || 2000;
  let shown = Number(body.dataset.latest);

  // A page where the person is typing is not swapped (their text would go): it catches up after.
  function typing() {
    return Array.from(document.querySelectorAll("#content textarea")).some((area) => area.value.trim() !== "");
  }

  async function refresh() {
    if (typing()) return;
    const answer = await fetch(body.dataset.api, { cache: "no-store", credentials: "same-origin" });
    if (!answer.ok) return;
    const { latest } = await answer.json();
    if (latest === null || latest <= shown) return;
    const page = await fetch(window.location.href, { cache: "no-store", credentials: "same-origin" });
    if (!page.ok) return;
    const fresh = new DOMParser().parseFromString(await page.text(), "text/html");
    for (const id of ["tickbar", "content"]) {
      const now = document.getElementById(id);
      const next = fresh.getElementById(id);
      if (now && next) now.replaceWith(document.importNode(next, true));
    }
    shown = Number(fresh.body.dataset.latest);
    body.dataset.latest = String(shown);
  }

  async function poll() {
    try {
      await refresh();
    } catch (error) {
      // The server may be restarting, or the network away: ask again at the next turn.
    }
    window.setTimeout(poll, every);
  }
  window.setTimeout(poll, every);
})();
