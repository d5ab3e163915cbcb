// The operator's journey through the console, in Debian's Chromium driven by Playwright,
// against `trickle dev` in sandbox mode (the OpenPhone and NumVerify simulators):
// sign in; import a CSV by drag-and-drop and watch it complete; build a campaign with a token
// button and watch the preview and segment count follow the typing; save a draft; activate
// through the confirmation; a contact texts STOP from the sandbox panel; run the campaign and
// see the funnel move with that contact's send withheld; resubscribe with a reason; replay a
// failed event; save the message as a template, version it, start a campaign from it; read the
// insights. Also: a wrong token cannot sign in, a form without its CSRF token is refused,
// axe-core finds no serious or critical violation on any page, and every page is photographed
// at 375 px and 1280 px into target/console-screenshots/.
//
// Usage: node journey.mjs [path/to/trickle]   (default: ../../target/debug/trickle)

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const binary = resolve(process.argv[2] || join(root, "target/debug/trickle"));
const shots = join(root, "target/console-screenshots");
const TOKEN = "console-journey-token";
const SENDER = "+13105550100";
const axeSource = readFileSync(join(here, "node_modules/axe-core/axe.min.js"), "utf8");

let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failures += 1;
};

// --- trickle dev, on a free port, in a fresh data dir, at a Monday noon in New York --------
const dataDir = mkdtempSync(join(tmpdir(), "trickle-console-"));
const dev = spawn(
  binary,
  ["dev", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--admin-token", TOKEN,
    "--clock-start", "2026-01-05T17:00:00Z", "--simulator-rate-limit", "0"],
  { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } },
);
let devOutput = "";
const started = new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error("trickle dev did not start in 60 s:\n" + devOutput)), 60000);
  const read = (chunk) => {
    devOutput += chunk;
    const base = devOutput.match(/listening on (http:\/\/[0-9.:]+)/);
    const sim = devOutput.match(/OpenPhone simulator runs at (http:\/\/[0-9.:]+)/);
    if (base && sim) { clearTimeout(timer); ok({ base: base[1], simulator: sim[1] }); }
  };
  dev.stdout.on("data", read);
  dev.stderr.on("data", read);
  dev.on("exit", (code) => fail(new Error(`trickle dev exited (${code}):\n${devOutput}`)));
});

const browser = await (async () => {
  const { base } = await started;
  void base;
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
})();
const { base, simulator } = await started;

async function main() {
  mkdirSync(shots, { recursive: true });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "America/New_York" });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on("pageerror", (e) => console.log("page error:", e.message));
  if (process.env.DEBUG_REQUESTS) page.on("request", (r) => console.log(">>", r.method(), r.url()));
  const visited = new Map();

  // axe-core on the page as it stands, and a photograph at both widths.
  const audit = async (name, on = page) => {
    await on.addScriptTag({ content: axeSource });
    const result = await on.evaluate(async () =>
      // eslint-disable-next-line no-undef
      await axe.run(document, { resultTypes: ["violations"] }));
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    check(serious.length === 0, `axe: no serious violation on ${name}` +
      (serious.length ? " — " + serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; ") : ""));
    for (const width of [375, 1280]) {
      await on.setViewportSize({ width, height: 900 });
      const wide = await on.evaluate(() => document.documentElement.scrollWidth);
      check(wide <= width, `${name} fits ${width} px without sideways scrolling (${wide} px)`);
      await on.screenshot({ path: join(shots, `${name}-${width}.png`), fullPage: true });
    }
    await on.setViewportSize({ width: 1280, height: 900 });
    visited.set(name, page.url());
  };

  // --- sign in ---------------------------------------------------------------------------
  await page.goto(base + "/campaigns");
  check(page.url().startsWith(base + "/sign-in"), "a signed-out visit goes to sign-in");
  await audit("sign-in");
  await page.fill("#token", "not-the-token");
  await page.click("button[type=submit]");
  check(await page.isVisible("#token-error"), "a wrong token is refused with an explanation");
  check(!(await context.cookies()).some((c) => c.name === "trickle_session"), "a wrong token sets no session");
  await page.fill("#token", TOKEN);
  await page.click("button[type=submit]");
  await page.waitForURL(base + "/campaigns");
  const cookie = (await context.cookies()).find((c) => c.name === "trickle_session");
  check(cookie && cookie.httpOnly && cookie.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");

  // A state-changing form without its CSRF token is refused, with the session cookie present.
  const forged = await page.request.post(base + "/opt-outs", { form: { phone: "+12125550199" } });
  check(forged.status() === 403, `a form post without the CSRF token is refused (${forged.status()})`);
  const wrong = await page.request.post(base + "/opt-outs", { form: { phone: "+12125550199", _csrf: "forged" } });
  check(wrong.status() === 403, "a form post with a forged CSRF token is refused");
  await page.goto(base + "/opt-outs");
  check(!(await page.textContent("main")).includes("+12125550199"), "the refused forms changed nothing");

  await page.goto(base + "/");
  await audit("dashboard");

  // --- a campaign; its "Create a new list" link imports a CSV by drag-and-drop in a new tab -----
  // Last digits 0–4 are mobiles in the NumVerify simulator, 5 a landline.
  const csv = [
    "First Name,Last Name,Phone,Neighborhood",
    "Maria,Lopez,(212) 555-0131,Chelsea",
    "James,Chen,212-555-0142,SoHo",
    "Aisha,Khan,+1 212 555 0153,Harlem",
    "Tom,Berg,2125550164,Tribeca",
    "Lee,Park,(212) 555-0175,Midtown",
    "Broken,Row,not a phone,Nowhere",
  ].join("\n") + "\n";
  await page.goto(base + "/campaigns/new");
  await audit("campaign-new");
  const [imp] = await Promise.all([context.waitForEvent("page"), page.click("#new-list")]);
  await imp.waitForLoadState();
  check(imp.url().endsWith("/imports/new"), "the new-list link opens the import page in a new tab");
  await audit("import-new", imp);
  await imp.fill("#list_name", "Open house visitors");
  const dropped = await imp.evaluateHandle((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], "visitors.csv", { type: "text/csv" }));
    return transfer;
  }, csv);
  await imp.dispatchEvent("#drop", "dragover", { dataTransfer: dropped });
  await imp.dispatchEvent("#drop", "drop", { dataTransfer: dropped });
  check((await imp.textContent("#file-name")).includes("visitors.csv"), "the dropped file is named");
  await imp.click("#import-form button[type=submit]");
  await imp.waitForURL(/\/imports\/[^/]+$/);
  // Finished when the rejects download appears (the page follows the import live until then).
  await imp.waitForSelector("a[href$='/rejects']", { timeout: 60000 });
  const summary = await imp.textContent("#import-summary");
  check(/4/.test(summary), `the import completes with its summary: "${summary.trim()}"`);
  check((await imp.textContent("#import-status")).includes("landline"), "the summary names the landline reason");
  await audit("import-done", imp);
  const listHref = await imp.getAttribute("a[href^='/lists/']", "href");
  const listId = listHref.split("/").pop();
  await imp.close();
  // Back on the campaign form: the new list is selected, with who it reaches.
  await page.waitForFunction((id) => document.getElementById("list_id").value === id, listId, { timeout: 15000 });
  check(true, "the list imported from the campaign form comes back selected there");
  await page.waitForFunction(() => document.getElementById("audience-estimate").textContent.includes("will get it"));
  const estimateText = await page.textContent("#audience-estimate");
  check(/4 of 4 contacts will get it/.test(estimateText), `the audience section estimates who the list reaches ("${estimateText.trim()}")`);
  check(/4 of them have no consent recorded/.test(estimateText), "the estimate counts contacts without recorded consent");

  await page.selectOption("#list_id", listId);
  await page.fill("#name", "Spring open house");
  await page.click("#message_a");
  await page.type("#message_a", "Hi ");
  await page.click(".tokens[data-target=message_a] button[data-token=first_name]");
  await page.type("#message_a", ", we have an open house on Saturday.");
  check((await page.inputValue("#message_a")).includes("{{first_name}}"), "the token button inserts at the cursor");
  await page.waitForFunction(() => document.getElementById("preview-text").textContent.includes("Hi Maria"));
  check(true, "the preview renders for a real member of the list (Maria)");
  await page.fill("#business_name", "Lopez Realty");
  await page.waitForFunction(() => document.getElementById("preview-text").textContent.startsWith("Lopez Realty:"));
  check((await page.textContent("#preview-text")).includes("Reply STOP to opt out"), "the preview shows the identification and opt-out footer");
  const before = await page.textContent("#preview-size");
  await page.type("#message_a", " ".padEnd(140, "x"));
  await page.waitForFunction((b) => document.getElementById("preview-size").textContent !== b, before);
  const after = await page.textContent("#preview-size");
  check(/2 segments/.test(after), `the segment counter follows the typing ("${before}" → "${after}")`);
  await page.fill("#message_a", "Hi {{first_name}}, we have an open house on Saturday.");
  for (const day of ["sat", "sun"]) await page.check(`input[name=days][value=${day}]`);
  await page.fill("#send_time", "12:00");
  await page.fill("#time_zone", "America/New_York");
  await page.fill("#per_run", "10");
  await page.fill("#sender", SENDER);
  if (process.env.DEBUG_REQUESTS) console.log(await page.evaluate(() => { const b = document.querySelector("button[value=draft]"); const r = b.getBoundingClientRect(); const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2); return JSON.stringify([r.x, r.y, window.innerHeight, at && at.outerHTML.slice(0, 80)]); }));
  await page.click("button[value=draft]");
  await page.waitForLoadState();
  if (!/notice=/.test(page.url())) console.log("after save:", page.url(), (await page.textContent("main")).slice(0, 600));
  await page.waitForURL(/\/campaigns\/[^/?]+\?notice=/);
  check((await page.textContent(".notice")).includes("draft"), "save as draft lands on the campaign");
  check((await page.textContent(".badge")).includes("draft"), "the campaign is a draft");
  const campaignUrl = page.url().split("?")[0];

  await page.goto(base + "/lists");
  check((await page.textContent("main")).includes("Open house visitors"), "the new list is listed");
  await audit("lists");
  await page.goto(base + listHref);
  await audit("list");

  // A bad edit names every problem next to its field and loses nothing typed.
  await page.goto(campaignUrl + "/edit");
  await page.fill("#name", "");
  await page.click("button[value=draft]");
  await page.waitForSelector("#name-error");
  check(/name/i.test(await page.textContent("#name-error")), "a missing name is named next to its field");
  check((await page.inputValue("#message_a")).includes("open house"), "nothing typed is lost on an error");
  await audit("campaign-edit-error");
  await page.reload();
  await page.goto(campaignUrl + "/edit");
  check((await page.inputValue("#name")) === "Spring open house", "the refused edit changed nothing");

  // A sending number the OpenPhone account does not own is refused at activation, with the
  // numbers that would work (before any send could fail).
  await page.fill("#sender", "+13105550188");
  await page.click("button[value=activate]");
  await page.waitForURL(/\/activate$/);
  await page.click("button.primary");
  await page.waitForLoadState();
  const refusal = await page.textContent("main");
  check(refusal.includes("not a number of this OpenPhone account") && refusal.includes(SENDER),
    "a sender the account does not own is refused, naming the valid one");
  await page.goto(campaignUrl + "/edit");
  await page.fill("#sender", SENDER);

  // --- activate through the confirmation ---------------------------------------------------------
  await page.click("button[value=activate]");
  await page.waitForURL(/\/activate$/);
  const confirmText = await page.textContent("main");
  check(confirmText.includes("5 contacts") || confirmText.includes("4 contacts"), "the confirmation shows the audience");
  check(confirmText.includes("First run"), "the confirmation shows the first run");
  check(/4 of the 4 contacts in the list/.test(confirmText) && confirmText.includes("Without recorded consent"),
    "the confirmation shows the audience after exclusions and the contacts without recorded consent");
  await audit("campaign-confirm");
  await page.click("button.primary");
  await page.waitForURL(/\/campaigns\/[^/?]+\?notice=/);
  check((await page.textContent(".badge")).includes("active"), "the campaign is active");

  // --- a contact texts STOP before the run: the sandbox panel ---------------------------------
  await page.goto(base + "/sandbox");
  check((await page.textContent("#sandbox-numbers")).includes(SENDER), "the sandbox panel lists its sending number");
  await audit("sandbox");
  await page.fill("#from", "+12125550142");
  await page.fill("#text", "STOP");
  await page.click("form[action='/sandbox/inbound'] button");
  await page.waitForSelector(".notice");
  check((await page.textContent(".notice")).includes("Delivered"), "the inbound STOP reached trickle's webhook");

  const contactUrl = async (phone) => {
    await page.goto(base + "/contacts?q=" + encodeURIComponent(phone));
    return page.url();
  };
  // Found by name too: the start of a last name lists the contact, one click opens it.
  await page.goto(base + "/contacts");
  await page.fill("#q", "chen");
  await page.click("form[role=search] button");
  await page.waitForSelector("main table a");
  check((await page.textContent("main table")).includes("James Chen"), "a search by the start of a last name finds the contact");
  await page.click("main table a");
  await page.waitForURL(/\/contacts\/ct_/);
  const jamesUrl = page.url();
  check(jamesUrl === (await contactUrl("+12125550142")), "the name search and the phone search open the same contact");
  let optedOut = false;
  for (let i = 0; i < 40 && !optedOut; i++) {
    await page.goto(jamesUrl);
    optedOut = (await page.textContent("#opt-out-state")).includes("opted out");
    if (!optedOut) await page.waitForTimeout(250);
  }
  check(optedOut, "the contact who texted STOP shows as opted out");

  // Aisha texts first: previous communication, so the run puts her on the review list.
  await page.goto(base + "/sandbox");
  await page.fill("#from", "+12125550153");
  await page.fill("#text", "Hi, who is this?");
  await page.click("form[action='/sandbox/inbound'] button");
  await page.waitForSelector(".notice");
  const aishaUrl = await contactUrl("+12125550153");
  let texted = false;
  for (let i = 0; i < 40 && !texted; i++) {
    await page.goto(aishaUrl);
    texted = (await page.textContent("main")).includes("who is this");
    if (!texted) await page.waitForTimeout(250);
  }
  check(texted, "the inbound text is on the contact's timeline");

  // --- run it and watch the funnel move ------------------------------------------------------
  await page.goto(campaignUrl);
  await page.click("form[action$='/run'] button");
  await page.waitForSelector(".notice");
  const runNotice = await page.textContent(".notice");
  check(/Run started: 2 planned, .*1 sent to the review list/.test(runNotice),
    `run now plans the two reachable mobiles and reviews the one who texted ("${runNotice.trim()}")`);

  // The review list: Aisha, with the campaign's name; released, she gets the message after all.
  await page.goto(base + "/review");
  const reviewText = await page.textContent("main");
  check(reviewText.includes("+12125550153") && reviewText.includes("Spring open house") && reviewText.includes("talked with you before"),
    "the review list names the contact, the campaign and the reason");
  await audit("review");
  await page.click("form[action='/review/release'] button");
  await page.waitForSelector(".notice");
  const released = await page.textContent(".notice");
  check(released.includes("Released"), `releasing a reviewed contact plans their message ("${released.trim()}")`);
  const left = (await page.isVisible("main table")) ? await page.textContent("main table") : "";
  check(!left.includes("+12125550153"), "the released entry leaves the review list");
  let sent = 0;
  for (let i = 0; i < 60 && sent < 3; i++) {
    await page.goto(campaignUrl);
    sent = Number((await page.textContent("#funnel tbody tr td[data-count=sent]")).replace(/,/g, ""));
    if (sent < 3) await page.waitForTimeout(250);
  }
  check(sent === 3, `the funnel shows 3 sent (${sent})`);
  const sendsTable = await page.textContent("#sends");
  check(!sendsTable.includes("+12125550142"), "the opted-out contact's send is withheld");
  check(await page.isVisible("#daily-chart"), "the sends-per-day chart is drawn");

  // Maria replies; the campaign's replies feed shows it.
  await page.goto(base + "/sandbox");
  await page.fill("#from", "+12125550131");
  await page.fill("#text", "Is the house on Elm still available?");
  await page.click("form[action='/sandbox/inbound'] button");
  await page.waitForSelector(".notice");
  let replied = false;
  for (let i = 0; i < 40 && !replied; i++) {
    await page.goto(campaignUrl);
    replied = (await page.isVisible("#replies")) && (await page.textContent("#replies")).includes("still available");
    if (!replied) await page.waitForTimeout(250);
  }
  check(replied, "the reply appears in the campaign's replies feed");
  const funnelRow = await page.textContent("#funnel tbody tr");
  check(funnelRow.includes("33.3%"), `the reply rate counts it, 1 of 3 ("${funnelRow.replace(/\s+/g, " ").trim()}")`);
  const sendsHref = await page.getAttribute("a[href$='/sends.csv']", "href");
  const sendsCsv = await page.request.get(base + sendsHref);
  const sendsText = await sendsCsv.text();
  check(sendsCsv.ok() && sendsText.startsWith("contact_id,phone,position,variant,state") && sendsText.includes(",yes,"),
    "the campaign page exports its sends, the reply among them");
  await audit("campaign");

  // --- the template library: save the campaign's message, change it, start a campaign from it --
  await page.fill("#save-template-name", "Open house invite");
  await page.click("#save-template button[type=submit]");
  await page.waitForURL(/\/templates\/tp_[^/?]+\?notice=/);
  const templateUrl = page.url().split("?")[0];
  check((await page.textContent("#template-version")).trim() === "1", "the saved message is version 1 of its template");
  check((await page.textContent("#template-tokens")).includes("first_name"), "the template lists its tokens");
  await page.selectOption("#check-list", listId);
  await page.click("form[action^='/templates/'].filters button");
  await page.waitForSelector("#token-check");
  check((await page.textContent("#token-check")).includes("Every token"), "the template's tokens are checked against the list's columns");
  await page.fill("#edit-message", "Hi {{first_name}}, the open house in {{city|your area}} is this Saturday.");
  await page.click("#edit-template button[type=submit]");
  await page.waitForSelector(".notice");
  check((await page.textContent("#template-version")).trim() === "2", "a new text is version 2");
  check((await page.$$("#versions tbody tr")).length === 2, "both versions stay listed");
  await page.selectOption("#check-list", listId);
  await page.click("form[action^='/templates/'].filters button");
  await page.waitForSelector("#token-check");
  const flagged = await page.textContent("#token-check");
  check(flagged.includes("city") && flagged.includes("your area"), `a token no column fills is flagged with its fallback ("${flagged.replace(/\s+/g, " ").trim()}")`);
  await audit("template");
  await page.goto(base + "/templates");
  check((await page.textContent("#templates")).includes("Open house invite"), "the library lists the template");
  await audit("templates");
  await page.goto(templateUrl);
  await page.click("#start-campaign");
  await page.waitForURL(/\/campaigns\/new\?template=/);
  check((await page.inputValue("#message_a")).includes("{{city|your area}}"), "a campaign started from the template gets its latest text");
  check((await page.textContent("#template_a-note")).includes("version 2"), "the form says which template version the message came from");
  await page.selectOption("#list_id", listId);
  await page.fill("#name", "Saturday open house");
  for (const day of ["sat", "sun"]) await page.check(`input[name=days][value=${day}]`);
  await page.fill("#send_time", "12:00");
  await page.fill("#time_zone", "America/New_York");
  await page.fill("#per_run", "10");
  await page.fill("#sender", SENDER);
  await page.fill("#business_name", "Lopez Realty");
  await page.click("button[value=activate]");
  await page.waitForURL(/\/activate$/);
  const tokenFlags = (await page.isVisible("#confirm-tokens")) ? await page.textContent("#confirm-tokens") : "";
  check(tokenFlags.includes("city") && tokenFlags.includes("your area"), "the activation confirmation flags the token the list does not fill");
  await page.goto(page.url().replace(/\/activate$/, ""));
  check((await page.textContent("#template-a-line")).includes("version 2"), "the campaign names the template version it took");

  // --- insights: the overview, the best-time grid (too few texts to colour) ------------------
  await page.goto(base + "/insights");
  const cards = await page.$$eval("#overview .card .big", (all) => all.map((b) => b.textContent.trim()));
  check(cards.length >= 4 && cards[0] === "3", `the overview counts the texts sent (${JSON.stringify(cards)})`);
  check(await page.isVisible("#best-time"), "the best-time grid is drawn");
  check(await page.isVisible("#best-time-empty"), "the best-time grid says there is not enough data yet");
  check((await page.textContent("#top-h")).includes("Best campaigns"), "the top campaigns section is shown");
  await audit("insights");

  // --- at 375 px the campaign page scrolls its tables inside their frames, not the page ---------
  await page.goto(campaignUrl);
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => ({
    page: document.documentElement.scrollWidth,
    funnel: [...document.querySelectorAll("#funnel")].map((t) => {
      const wrap = t.closest(".table-wrap");
      return [wrap.scrollWidth, wrap.clientWidth];
    }),
  }));
  check(overflow.page <= 375, `the campaign page fits 375 px without sideways scrolling (${overflow.page} px)`);
  check(overflow.funnel.length === 1 && overflow.funnel[0][0] <= overflow.funnel[0][1],
    `the funnel fits its frame at 375 px (${JSON.stringify(overflow.funnel)})`);
  await page.setViewportSize({ width: 1280, height: 900 });

  await page.goto(base + "/campaigns");
  await audit("campaigns");
  await page.goto(base + "/");
  check((await page.textContent("main")).includes("Spring open house"), "the dashboard shows the running campaign");
  check(await page.isVisible("#recent-replies") && (await page.textContent("#recent-replies")).includes("still available"),
    "the dashboard shows the recent reply");
  await audit("dashboard-active");

  // --- resubscribe with a reason ---------------------------------------------------------------
  await page.goto(jamesUrl);
  await audit("contact-opted-out");
  await page.fill("#reason", "Asked by phone to get listings again");
  await page.click("form[action$='/resubscribe'] button");
  await page.waitForSelector(".notice");
  check((await page.textContent("#opt-out-state")).includes("subscribed"), "resubscribed");
  check((await page.textContent("#opt-out-history")).includes("Asked by phone"), "the audit keeps the reason");
  await page.goto(base + "/opt-outs");
  await audit("opt-outs");
  const exported = await page.request.get(base + "/opt-outs.csv");
  const csvText = await exported.text();
  check(exported.ok() && csvText.startsWith("phone,status") && csvText.includes("+12125550142") && csvText.includes("Asked by phone"),
    "the opt-out export holds the number and its audit");
  await page.goto(base + "/contacts");
  await audit("contacts");

  // --- replay a failed event ---------------------------------------------------------------
  // A call with no counterpart number fails processing for good (a broken webhook).
  await fetch(simulator + "/_sim/call", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from: "" }) });
  let replayable = false;
  for (let i = 0; i < 40 && !replayable; i++) {
    await page.goto(base + "/operations?events=failed");
    replayable = await page.isVisible("#events-table form[action$='/replay'] button");
    if (!replayable) await page.waitForTimeout(250);
  }
  check(replayable, "a failed event is listed with a replay button");
  await audit("operations");
  if (replayable) {
    await page.click("#events-table form[action$='/replay'] button");
    await page.waitForSelector(".notice");
    check((await page.textContent(".notice")).includes("queued again"), "replay queues the event again");
  }

  // --- sign out ------------------------------------------------------------------------------
  await page.click(".sign-out button");
  await page.goto(base + "/campaigns");
  check(page.url().startsWith(base + "/sign-in"), "after sign-out the console asks for the token again");
  console.log(`screenshots of ${visited.size} pages in ${shots}`);
}

try {
  await main();
} catch (e) {
  failures += 1;
  console.error("FAIL the journey stopped:", e);
  console.error("trickle dev said:\n" + devOutput.slice(-4000));
} finally {
  await browser.close();
  dev.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(failures === 0 ? "console journey: all checks passed" : `console journey: ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
