// trickle console: small progressive enhancement. Every page works without it except the
// upload (which needs the browser to send the file to the pre-signed URL).
"use strict";
(function () {
  const csrf = document.body.dataset.csrf || "";

  // Times: shown in UTC by the server, turned into the browser's local time here.
  for (const t of document.querySelectorAll("time[data-local]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = d.toLocaleString([], { weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  // Forms that ask first (archive, cancel).
  for (const f of document.querySelectorAll("form[data-confirm]")) {
    f.addEventListener("submit", (e) => { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
  }

  // The campaign form: default time zone, token buttons, message B, live preview.
  const form = document.getElementById("campaign-form");
  if (form) {
    const zone = form.querySelector("[data-default-zone]");
    if (zone && !zone.value) zone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "America/New_York";
    const hasB = document.getElementById("has_b");
    const b = document.getElementById("variant-b");
    hasB.addEventListener("change", () => { b.hidden = !hasB.checked; });
    const insert = (target, token) => {
      const area = document.getElementById(target);
      const text = "{{" + token + "}}";
      const start = area.selectionStart ?? area.value.length;
      const end = area.selectionEnd ?? area.value.length;
      area.value = area.value.slice(0, start) + text + area.value.slice(end);
      area.focus();
      area.selectionStart = area.selectionEnd = start + text.length;
      area.dispatchEvent(new Event("input", { bubbles: true }));
    };
    form.addEventListener("click", (e) => {
      const button = e.target.closest("button.token");
      if (button) insert(button.closest(".tokens").dataset.target, button.dataset.token);
    });
    const tokenGroups = form.querySelectorAll(".tokens");
    const showTokens = (tokens) => {
      for (const group of tokenGroups) {
        group.replaceChildren(...tokens.map((t) => {
          const button = document.createElement("button");
          button.type = "button"; button.className = "token"; button.dataset.token = t;
          button.textContent = t.replace(/_/g, " ");
          return button;
        }));
      }
    };
    const text = document.getElementById("preview-text");
    const size = document.getElementById("preview-size");
    const problem = document.getElementById("preview-error");
    const who = document.getElementById("preview-for");
    let timer = null, seq = 0, longest = null;
    const refresh = async () => {
      const mine = ++seq;
      if (!form.message_a.value.trim()) {
        text.textContent = ""; size.textContent = ""; problem.textContent = "";
        who.textContent = "Type message A to see it as the contact will.";
        return;
      }
      const body = {
        message: form.message_a.value,
        business_name: form.business_name.value,
        opt_out_footer: form.opt_out_footer.value,
        list_id: form.list_id.value,
        longest: longest,
      };
      try {
        const r = await fetch("/campaigns/preview", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify(body) });
        const p = await r.json();
        if (mine !== seq) return;
        if (p.tokens) showTokens(p.tokens);
        if (!r.ok) { problem.textContent = p.error || "The preview could not be drawn."; return; }
        const named = p.unresolved_tokens.map((t) => p.did_you_mean && p.did_you_mean[t] ? t + " (did you mean " + p.did_you_mean[t] + "?)" : t);
        problem.textContent = named.length ? "No value (and no fallback) for: " + named.join(", ") : "";
        text.textContent = p.text;
        size.textContent = p.characters + " characters · " + p.segments + (p.segments === 1 ? " segment" : " segments") + " (" + p.encoding + ")" +
          (p.longest_segments && p.longest_segments > p.segments ? "; up to " + p.longest_segments + " segments for the longest names in the list" : "");
        who.textContent = p.for ? "As " + p.for + " (the list's first member) will see it." : "With sample values; choose a list to see a real member.";
      } catch (e) { problem.textContent = "The preview could not be reached; check that trickle is running."; }
    };
    form.addEventListener("input", (e) => {
      if (e.target.matches("[data-preview]")) { clearTimeout(timer); timer = setTimeout(refresh, 150); }
    });
    // Who the list reaches after exclusions, and its longest values (for the segment count).
    const estimateBox = document.getElementById("audience-estimate");
    const refreshEstimate = async () => {
      longest = null;
      if (!form.list_id.value) { estimateBox.textContent = ""; refresh(); return; }
      let query = "?list_id=" + encodeURIComponent(form.list_id.value);
      if (form.dataset.campaignId) query += "&campaign_id=" + encodeURIComponent(form.dataset.campaignId);
      estimateBox.textContent = "Checking who this list reaches…";
      try {
        const r = await fetch("/campaigns/audience" + query);
        const e = await r.json();
        estimateBox.textContent = r.ok ? e.text : (e.error || "The audience could not be estimated.");
        if (r.ok) longest = e.longest;
      } catch (err) { estimateBox.textContent = "The audience could not be estimated; check that trickle is running."; }
      refresh();
    };
    form.list_id.addEventListener("change", refreshEstimate);
    refreshEstimate();
    // A list imported in another tab (the "Create a new list" link) arrives here selected.
    if ("BroadcastChannel" in window) {
      new BroadcastChannel("trickle-lists").onmessage = (m) => {
        const { id, name } = m.data || {};
        if (!id) return;
        let option = [...form.list_id.options].find((o) => o.value === id);
        if (!option) { option = new Option(name, id); form.list_id.add(option); }
        form.list_id.value = id;
        refreshEstimate();
        estimateBox.textContent = "“" + name + "” is imported and selected. " + estimateBox.textContent;
      };
    }
  }

  // The import page: create the import, upload the file straight to its pre-signed URL.
  const importForm = document.getElementById("import-form");
  if (importForm) {
    const file = document.getElementById("file");
    const drop = document.getElementById("drop");
    const name = document.getElementById("file-name");
    const bar = document.getElementById("upload-progress");
    const say = (id, message) => { document.getElementById(id).textContent = message; };
    file.addEventListener("change", () => { name.textContent = file.files[0] ? file.files[0].name : ""; });
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault(); drop.classList.remove("over");
      if (e.dataTransfer.files.length) { file.files = e.dataTransfer.files; name.textContent = file.files[0].name; }
    });
    importForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      say("list_name-error", ""); say("file-error", "");
      const listName = importForm.list_name.value.trim();
      let ok = true;
      if (!listName) { say("list_name-error", "Give the new list a name, e.g. “Open house visitors, March”."); ok = false; }
      if (!file.files[0]) { say("file-error", "Choose the CSV file to import (or drop it on the box)."); ok = false; }
      if (!ok) return;
      const kind = importForm.querySelector("input[name=kind]:checked").value;
      const r = await fetch("/imports", { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify({ list_name: listName, kind }) });
      const created = await r.json();
      if (!r.ok) { say("file-error", created.error || "The import could not be started."); return; }
      bar.hidden = false;
      const xhr = new XMLHttpRequest();
      xhr.open(created.method || "PUT", created.upload_url);
      for (const [k, v] of Object.entries(created.headers || {})) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (p) => {
        if (!p.lengthComputable) return;
        const pct = Math.round((p.loaded / p.total) * 100);
        bar.setAttribute("aria-valuenow", pct); bar.firstElementChild.style.width = pct + "%";
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) window.location = "/imports/" + created.id;
        else say("file-error", "The upload was refused (" + xhr.status + "). Start again; if it keeps happening, the upload link may have expired.");
      };
      xhr.onerror = () => say("file-error", "The upload did not reach the server. Check the connection and try again.");
      xhr.send(file.files[0]);
    });
  }

  // A finished import tells any campaign form open in another tab about its new list.
  const done = document.getElementById("import-done");
  if (done && "BroadcastChannel" in window) {
    new BroadcastChannel("trickle-lists").postMessage({ id: done.dataset.listId, name: done.dataset.listName });
  }

  // A running import: refresh its status in place until it finishes.
  const live = document.querySelector("#import-status[data-live]");
  if (live) {
    const poll = async () => {
      const r = await fetch(window.location.pathname, { headers: { accept: "text/html" } });
      const html = await r.text();
      const next = new DOMParser().parseFromString(html, "text/html").getElementById("import-status");
      if (!next) return;
      live.innerHTML = next.innerHTML;
      if (next.hasAttribute("data-live")) setTimeout(poll, 1000);
      else window.location.reload();
    };
    setTimeout(poll, 1000);
  }
})();
