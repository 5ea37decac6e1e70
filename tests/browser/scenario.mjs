// Portico in a real browser: Debian's Chromium driven by Playwright (playwright-core),
// against a server the Rust test (tests/api/browser.rs) started and filled. It reads
// what it needs from PORTICO_BROWSER (JSON):
//   base         the tenant's origin, e.g. http://acme.localhost:41234
//   invitation   the path of the plain contact's invitation (/invite/…)
//   password     the password the contact chooses
//   sessions     { tech, boss, colleague }: cookies (name → value) of people who
//                registered before
//   screenshots  the folder the page screenshots go to
// On every page: axe-core finds no serious or critical WCAG 2.2 AA violation, the
// page breaks no rule of its Content-Security-Policy and throws no script error.
// It prints one JSON line per page (`{"figure": …}`: first paint, transferred
// bytes) and exits non-zero with every failure listed.
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";
import * as OTPAuth from "otpauth";

const require = createRequire(import.meta.url);
const config = JSON.parse(process.env.PORTICO_BROWSER ?? "{}");
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const failures = [];
const people = [];
let shot = 0;

function fail(message) {
  failures.push(message);
  console.error(`FAIL ${message}`);
}

function check(condition, message) {
  if (!condition) {
    fail(message);
  }
}

/// A browser context for one person, with the problems its pages report.
async function person(browser, name, cookies, url = config.base) {
  const context = await browser.newContext({ locale: "en-GB" });
  if (cookies) {
    await context.addCookies(
      Object.entries(cookies).map(([cookie, value]) => ({
        name: cookie,
        value,
        url,
        secure: cookie.startsWith("__Host-"),
        httpOnly: true,
        sameSite: "Lax",
      })),
    );
  }
  const page = await context.newPage();
  people.push({ name, page });
  page.on("console", (message) => {
    const text = message.text();
    if (message.type() === "error" && /Content Security Policy|Refused to/i.test(text)) {
      fail(`${name}: CSP violation on ${page.url()}: ${text}`);
    }
  });
  page.on("pageerror", (error) => fail(`${name}: script error on ${page.url()}: ${error.message}`));
  return { name, context, page };
}

/// Checks the page as it stands: accessibility, a screenshot, its figures.
async function inspect(who, label) {
  const { page } = who;
  await page.waitForLoadState("load");
  shot += 1;
  const file = join(config.screenshots, `${String(shot).padStart(2, "0")}-${label}.png`);
  await page.screenshot({ path: file, fullPage: true });
  // DevTools evaluation is not subject to the page's CSP, so axe runs on the page
  // exactly as served.
  await page.evaluate(`${axeSource};0`);
  const result = await page.evaluate(() =>
    window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    }),
  );
  for (const violation of result.violations) {
    if (violation.impact === "serious" || violation.impact === "critical") {
      const where = violation.nodes.map((node) => node.target.join(" ")).slice(0, 3).join("; ");
      fail(`${who.name}: ${label} (${page.url()}): axe ${violation.impact} ${violation.id}: ${violation.help} at ${where}`);
    }
  }
  const figures = await page.evaluate(() => {
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    const navigation = performance.getEntriesByType("navigation")[0];
    const resources = performance.getEntriesByType("resource");
    const bytes = (navigation ? navigation.encodedBodySize : 0) +
      resources.reduce((sum, entry) => sum + entry.encodedBodySize, 0);
    const decoded = (navigation ? navigation.decodedBodySize : 0) +
      resources.reduce((sum, entry) => sum + entry.decodedBodySize, 0);
    return {
      first_contentful_paint_ms: paint ? Math.round(paint.startTime) : null,
      encoded_bytes: bytes,
      decoded_bytes: decoded,
    };
  });
  console.log(JSON.stringify({ figure: label, url: new URL(page.url()).pathname, ...figures }));
}

async function main() {
  mkdirSync(config.screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    // The flags this sandbox needs (FIELD-NOTES.md); Playwright adds --headless and
    // a fresh profile. Tenants are `<slug>.localhost`: resolved to loopback.
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP *.localhost 127.0.0.1",
    ],
  });
  try {
    await scenario(browser);
  } catch (error) {
    fail(`the scenario stopped: ${error.stack ?? error}`);
    // What each person had on screen, for whoever reads the failure.
    for (const { name, page } of people) {
      try {
        await page.screenshot({ path: join(config.screenshots, `failure-${name}.png`), fullPage: true });
        const text = (await page.locator("main").innerText()).slice(0, 2000);
        console.error(`--- ${name} at ${page.url()}:\n${text}`);
      } catch {}
    }
  } finally {
    await browser.close();
  }
}

async function scenario(browser) {
  const base = config.base;

  // A stranger sees the sign-in page.
  const stranger = await person(browser, "stranger");
  await stranger.page.goto(`${base}/tickets`);
  check(new URL(stranger.page.url()).pathname === "/login", `signed out, /tickets leads to /login, not ${stranger.page.url()}`);
  await inspect(stranger, "login");
  await stranger.page.goto(`${base}/login/reset`);
  await inspect(stranger, "password-reset");

  // The contact registers from her invitation: a password, then TOTP.
  const carla = await person(browser, "carla");
  const { page } = carla;
  await page.goto(`${base}${config.invitation}`);
  await inspect(carla, "invitation");
  await page.fill("#password", config.password);
  await page.fill("#password_again", config.password);
  await Promise.all([page.waitForURL(/\/enrol\/totp/), page.click("button[type=submit]")]);
  await inspect(carla, "enrol-totp");
  const secret = (await page.textContent("main code")).trim();
  const totp = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret.replace(/\s+/g, "")), digits: 6, period: 30 });
  await page.fill("#code", totp.generate());
  await Promise.all([page.waitForLoadState("load"), page.click("form[action='/enrol/totp'] button[type=submit]")]);
  check((await page.locator("ul.recovery-codes li").count()) === 10, "ten recovery codes are shown after enrolment");
  await inspect(carla, "recovery-codes");

  // She opens a ticket with a screenshot pasted into the form.
  await page.goto(`${base}/tickets/new`);
  await inspect(carla, "new-ticket");
  await page.fill("#subject", "Printer jammed on the second floor");
  await page.fill("#description", "Paper stuck in tray 2, see the screenshot.");
  await page.check("#priority-high");
  await page.locator("#description").evaluate((textarea) => {
    // A 1×1 PNG, as a clipboard holding a screenshot would give it.
    const bytes = Uint8Array.from(atob(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==",
    ), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "image.png", { type: "image/png" }));
    textarea.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
  });
  const listed = await page.textContent("[data-file-list]");
  check(/screenshot-.*\.png/.test(listed ?? ""), `the pasted screenshot is listed, not ${JSON.stringify(listed)}`);
  await Promise.all([page.waitForURL(/\/tickets\/\d+$/), page.click("form[action='/tickets/new'] button[type=submit]")]);
  const number = new URL(page.url()).pathname.split("/").pop();
  check(await page.locator("#thread, main").first().isVisible(), "the ticket page shows");
  check((await page.locator(`a[href^='/tickets/${number}/files/']`).count()) === 1, "the screenshot is attached to the ticket");
  await inspect(carla, "ticket-contact");

  // Her list: the ticket under "In progress", counted.
  await page.goto(`${base}/tickets`);
  check((await page.locator(`a[href='/tickets/${number}']`).count()) === 1, "the new ticket is in the list");
  const tab = (await page.textContent(".tabs a[aria-current=page] .count"))?.trim();
  check(tab === "1", `the current tab counts one ticket, not ${tab}`);
  await inspect(carla, "ticket-list");

  // She waits on the ticket's page while a technician answers from the console.
  await page.goto(`${base}/tickets/${number}`);
  await page.evaluate(() => { window.porticoStayed = true; });
  const tech = await person(browser, "tech", config.sessions.tech);
  await tech.page.goto(`${base}/console?view=unassigned`);
  check((await tech.page.locator(`a[href='/tickets/${number}']`).count()) === 1, "the console lists the unassigned ticket");
  await inspect(tech, "console-unassigned");
  await tech.page.click(`a[href='/tickets/${number}']`);
  await tech.page.waitForURL(new RegExp(`/tickets/${number}$`));
  await inspect(tech, "ticket-technician");
  await Promise.all([
    tech.page.waitForURL(new RegExp(`/tickets/${number}`)),
    tech.page.click("form:has(input[name=action][value=take]) button[type=submit]"),
  ]);
  await tech.page.fill("#reply-body", "Open tray 2 and pull the sheet out gently.");
  await Promise.all([
    tech.page.waitForURL(new RegExp(`/tickets/${number}`)),
    tech.page.click("form[action$='/reply'] button[type=submit]"),
  ]);
  await tech.page.goto(`${base}/console?view=mine`);
  await inspect(tech, "console-mine");
  await tech.page.goto(`${base}/apps/suggestions/board`);
  await inspect(tech, "app-view-console");
  await tech.page.goto(`${base}/reports`);
  await inspect(tech, "reports-technician");
  for (const view of ["sla", "approval", "all"]) {
    await tech.page.goto(`${base}/console?view=${view}`);
    await inspect(tech, `console-${view}`);
  }

  // The answer appears on her page without a reload.
  try {
    await page.locator("#thread").getByText("Open tray 2 and pull the sheet out gently.").waitFor({ timeout: 15000 });
  } catch (error) {
    fail(`the answer did not appear on the contact's page: ${error.message}`);
  }
  check(await page.evaluate(() => window.porticoStayed === true), "the page was not reloaded");
  await inspect(carla, "ticket-answered");

  // The main contact sees her colleague's ticket; a plain contact does not.
  const boss = await person(browser, "boss", config.sessions.boss);
  await boss.page.goto(`${base}/tickets`);
  check((await boss.page.locator(`a[href='/tickets/${number}']`).count()) === 1, "the main contact sees the colleague's ticket");
  await inspect(boss, "ticket-list-main-contact");
  await boss.page.goto(`${base}/reports`);
  check((await boss.page.locator("table th[scope=row]").count()) >= 10, "the service report shows its figures");
  await inspect(boss, "reports-main-contact");
  await boss.page.goto(`${base}/colleagues`);
  await inspect(boss, "colleagues");
  const colleague = await person(browser, "colleague", config.sessions.colleague);
  await colleague.page.goto(`${base}/tickets`);
  check((await colleague.page.locator(`a[href='/tickets/${number}']`).count()) === 0, "a plain contact does not see another's ticket");
  const refused = await colleague.page.goto(`${base}/tickets/${number}`);
  check(refused.status() === 404, `a plain contact gets 404 for another's ticket, not ${refused.status()}`);
  await inspect(colleague, "not-found");

  // Her other pages, then the portal in Italian.
  await page.goto(`${base}/account/settings`);
  await inspect(carla, "settings");
  await page.goto(`${base}/account/sessions`);
  await inspect(carla, "sessions");
  await page.goto(`${base}/kb`);
  await inspect(carla, "knowledge-base");
  // A plugin's view, drawn by Portico: the suggestion box, used without scripts.
  await page.goto(`${base}/apps`);
  await inspect(carla, "apps");
  await page.click("a[href='/apps/suggestions/board']");
  await page.waitForURL(/\/apps\/suggestions\/board$/);
  await page.fill("input[name=title]", "Faster printers");
  await page.fill("textarea[name=text]", "The <b>second</b> floor waits a lot.");
  await Promise.all([page.waitForLoadState("load"), page.click("main form button[type=submit]")]);
  check((await page.textContent("main"))?.includes("The <b>second</b> floor waits a lot."), "the suggestion is shown as typed");
  await inspect(carla, "app-view");
  await page.goto(`${base}/tickets`);
  await page.selectOption("#language", "it");
  await Promise.all([page.waitForURL(/\/tickets$/), page.click("footer button[type=submit]")]);
  check((await page.getAttribute("html", "lang")) === "it", "the page is in Italian");
  check((await page.textContent("h1"))?.includes("I miei ticket"), "the list's heading is in Italian");
  await inspect(carla, "ticket-list-italian");
  await page.goto(`${base}/tickets/${number}`);
  await inspect(carla, "ticket-italian");

  // The MSP's administrator: every administration page, a token made and shown once.
  const ada = await person(browser, "admin", config.sessions.admin);
  const admin = ada.page;
  await admin.goto(`${base}/admin`);
  await inspect(ada, "admin-hub");
  await admin.goto(`${base}/admin/people`);
  check((await admin.locator("text=carla@contoso.example").count()) >= 1, "the people page lists the contact");
  await inspect(ada, "admin-people");
  await admin.click("table a[href^='/admin/people/']");
  await admin.waitForURL(/\/admin\/people\/\d+$/);
  await inspect(ada, "admin-person");
  await admin.goto(`${base}/admin/organizations`);
  await inspect(ada, "admin-organizations");
  await admin.click("table a[href^='/admin/organizations/']");
  await admin.waitForURL(/\/admin\/organizations\/\d+$/);
  await inspect(ada, "admin-organization");
  await admin.goto(`${base}/admin/portal`);
  await inspect(ada, "admin-portal");
  for (const name of ["sla", "mail", "domains", "responses", "plugins"]) {
    await admin.goto(`${base}/admin/${name}`);
    await inspect(ada, `admin-${name}`);
  }
  await admin.goto(`${base}/admin/tokens`);
  await admin.fill("#token-new-name", "Billing export");
  await Promise.all([admin.waitForLoadState("load"), admin.click("#token-new button[type=submit]")]);
  const tokenSecret = (await admin.textContent(".secret code"))?.trim() ?? "";
  check(tokenSecret.startsWith("pt_"), `the new token's secret is shown, not ${JSON.stringify(tokenSecret)}`);
  await inspect(ada, "admin-tokens");
  await admin.goto(`${base}/admin/webhooks`);
  await inspect(ada, "admin-webhooks");
  await admin.goto(`${base}/admin/audit`);
  check((await admin.locator("text=api_token.created").count()) >= 1, "the audit log shows the token's creation");
  await inspect(ada, "admin-audit");

  // The operator's console on admin.<base domain>: the tenants and one's usage.
  const operator = await person(browser, "operator", config.operator.cookies, config.operator.base);
  await operator.page.goto(`${config.operator.base}/`);
  check((await operator.page.locator("a[href='/tenants/acme']").count()) === 1, "the operator sees the tenant");
  await inspect(operator, "operator-tenants");
  await operator.page.click("a[href='/tenants/acme']");
  await operator.page.waitForURL(/\/tenants\/acme$/);
  await inspect(operator, "operator-tenant");
}

main()
  .catch((error) => fail(`the browser did not start: ${error.stack ?? error}`))
  .finally(() => {
    if (failures.length) {
      console.error(`${failures.length} failure(s)`);
      process.exit(1);
    }
    console.log("browser scenario passed");
  });
