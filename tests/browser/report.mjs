// Drives Debian's chromium over a `roleguard report` page (tests/it/report.rs
// runs it and judges what it prints): loads the page from file:// with every
// other request recorded and refused, works each filter through the real
// select elements, the search box, the sort and an account link, reloads
// with filters in the URL's hash, and prints one JSON object.
//
//   node report.mjs REPORT.html '{"hashes": [...], "query": "...", "linkAccount": "..."}'
//
// ROLEGUARD_CHROMIUM names another chromium than /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const started = Date.now();
const [file, configText] = process.argv.slice(2);
if (!file) {
  console.error('usage: node report.mjs REPORT.html [CONFIG_JSON]');
  process.exit(2);
}
const config = JSON.parse(configText || '{}');
const pageUrl = pathToFileURL(resolve(file)).href;
const bigUrl = config.bigPage ? pathToFileURL(resolve(config.bigPage)).href : null;
const profile = mkdtempSync(join(tmpdir(), 'roleguard-chromium-'));

const out = {
  consoleErrors: [],
  pageErrors: [],
  requests: [],
  dialogs: [],
};

const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.ROLEGUARD_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

try {
  const isPage = (u) => [pageUrl, bigUrl].includes(u.split('#')[0]);
  // Every request but the pages themselves is recorded and refused: a page
  // must need nothing from anywhere.
  context.on('request', (r) => {
    if (!isPage(r.url())) out.requests.push(r.url());
  });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (isPage(u)) return route.continue();
    return route.abort();
  });

  const open = async (hash) => {
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') out.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => out.pageErrors.push(String(e)));
    page.on('dialog', (d) => {
      out.dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    await page.goto(pageUrl + (hash || ''), { waitUntil: 'load' });
    return page;
  };

  // The finding rows the user sees.
  const visible = (page) =>
    page.$$eval('#rows tr', (rows) => rows.filter((r) => r.checkVisibility()).length);
  const state = (page) =>
    page.evaluate(() => ({
      account: document.getElementById('f-account').value,
      rule: document.getElementById('f-rule').value,
      severity: document.getElementById('f-severity').value,
      q: document.getElementById('f-q').value,
      hash: location.hash,
      shown: document.getElementById('shown').textContent,
    }));

  const page = await open('');
  out.rowsInDom = await page.$$eval('#rows tr', (rows) => rows.length);
  out.total = await visible(page);
  out.title = await page.title();
  out.matrix = await page.$$eval('#accounts tbody tr', (rows) =>
    rows.map((r) => ({
      account: r.getAttribute('data-account'),
      error: r.classList.contains('error'),
      cells: Array.from(r.cells, (c) => c.textContent.trim()),
    })),
  );
  out.severityOrder = await page.$$eval('#rows tr', (rows) =>
    rows.map((r) => r.querySelector('.sev').textContent),
  );

  // Each filter alone, through its select element.
  out.filters = {};
  out.hashAfter = {};
  for (const key of ['account', 'rule', 'severity']) {
    const sel = `#f-${key}`;
    const values = await page.$$eval(`${sel} option`, (os) =>
      os.map((o) => o.value).filter((v) => v !== ''),
    );
    out.filters[key] = {};
    for (const v of values) {
      await page.selectOption(sel, v);
      out.filters[key][v] = await visible(page);
      if (!(key in out.hashAfter)) out.hashAfter[key] = (await state(page)).hash;
    }
    await page.selectOption(sel, '');
  }
  out.totalAfterReset = await visible(page);

  // The search box.
  if (config.query) {
    await page.fill('#f-q', config.query);
    out.query = { count: await visible(page), state: await state(page) };
    await page.click('#f-clear');
  }

  // Sorting: the severity header turns the order round.
  await page.click('th button[data-sort="severity"]');
  out.severityOrderAscending = await page.$$eval('#rows tr', (rows) =>
    rows.map((r) => r.querySelector('.sev').textContent),
  );

  // An account in the matrix links to its findings.
  if (config.linkAccount) {
    await page.click(`#accounts tr[data-account="${config.linkAccount}"] a`);
    await page.waitForFunction(
      (a) => document.getElementById('f-account').value === a,
      config.linkAccount,
    );
    out.link = { count: await visible(page), state: await state(page) };
  }

  // A page loaded with filters in its hash shows them.
  out.hashes = [];
  for (const hash of config.hashes || []) {
    const p = await open(hash);
    out.hashes.push({ hash, count: await visible(p), state: await state(p) });
    await p.close();
  }

  // Every document a step removed or replaced opens, pretty-printed.
  out.documents = await page.evaluate(() => {
    const ds = Array.from(document.querySelectorAll('#rows details'));
    ds.forEach((d) => { d.open = true; });
    return ds.length;
  });
  await page.waitForFunction(() =>
    Array.from(document.querySelectorAll('#rows details pre')).every((p) => p.textContent),
  );
  out.documentTexts = await page.$$eval('#rows details pre', (ps) =>
    ps.map((p) => p.textContent),
  );

  // A large organisation's page: the first 500 findings and 100 accounts,
  // the rest a click away.
  if (config.bigPage) {
    const big = await context.newPage();
    big.on('console', (m) => {
      if (m.type() === 'error') out.consoleErrors.push(m.text());
    });
    big.on('pageerror', (e) => out.pageErrors.push(String(e)));
    const t = Date.now();
    await big.goto(bigUrl, { waitUntil: 'load' });
    const loadMs = Date.now() - t;
    const accounts = () =>
      big.$$eval('#accounts tbody tr', (rs) => rs.filter((r) => r.checkVisibility()).length);
    out.big = { loadMs, shown: await visible(big), accounts: await accounts() };
    out.big.text = await big.textContent('#shown');
    while (await big.isVisible('#more')) await big.click('#more');
    out.big.afterMore = await visible(big);
    await big.click('#all-accounts');
    out.big.allAccounts = await accounts();
    await big.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
out.ms = Date.now() - started;
console.log(JSON.stringify(out));
