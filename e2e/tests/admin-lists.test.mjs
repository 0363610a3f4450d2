// The clinic's lists in the admin at 1,280 px (issue 23): slots, bookings and the waiting list
// show every column whole, with nothing cut ("Confi"), wrapped over lines or scrolled out of
// sight. The demo data gives each list rows: a full slot with its waiting list, bookings.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { admin, baseURL, browserPerFile, screenshot } from './support.mjs';

const browser = browserPerFile();
const WIDTH = 1280;

const LISTS = [
  { path: '/admin/slots/slot/', name: 'slots', docsName: 'admin-slots' },
  { path: '/admin/booking/booking/', name: 'bookings' },
  { path: '/admin/booking/waitlistentry/', name: 'waiting-list' },
];

async function loggedIn() {
  const context = await browser().newContext({ viewport: { width: WIDTH, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${baseURL}/admin/login/`);
  await page.getByLabel('Username').fill(admin.username);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${baseURL}/admin/`);
  return page;
}

// Every cell and header that does not show its whole content, every column out of the window,
// and a list that scrolls sideways, as the browser lays them out.
function clippedColumns() {
  const problems = [];
  const results = document.querySelector('.results');
  if (results.scrollWidth > results.clientWidth + 1) {
    problems.push(`the list scrolls sideways: ${results.scrollWidth} > ${results.clientWidth}`);
  }
  for (const cell of document.querySelectorAll('#result_list th, #result_list td')) {
    const text = cell.innerText.trim();
    const box = cell.getBoundingClientRect();
    if (cell.scrollWidth > cell.clientWidth + 1) problems.push(`cut: "${text}"`);
    if (box.right > window.innerWidth) problems.push(`out of the window: "${text}"`);
    // One line of text: a patient id or a time wrapped over lines reads badly.
    const lineHeight = parseFloat(getComputedStyle(cell).lineHeight) || 16;
    if (text && cell.querySelector('input') === null && box.height > 2.5 * lineHeight) {
      problems.push(`wrapped: "${text}"`);
    }
  }
  return problems;
}

test('the admin is branded and its lists show every column whole at 1,280 px', async () => {
  const page = await loggedIn();
  assert.match(await page.title(), /MediQueue admin/);
  assert.equal(await page.locator('#site-name').innerText(), 'MediQueue admin');

  for (const list of LISTS) {
    await page.goto(`${baseURL}${list.path}`);
    const rows = await page.locator('#result_list tbody tr').count();
    assert.ok(rows > 0, `${list.name}: the demo data gives this list rows`);
    assert.deepEqual(await page.evaluate(clippedColumns), [], `${list.name} at ${WIDTH} px`);
    await screenshot(page, `admin-lists-${list.name}`, {
      fullPage: false,
      docsName: list.docsName,
    });
  }
});

test('the check finds a column cut short', async () => {
  // The control: the same list squeezed into a narrow window must fail the check, so that
  // the check is known to see clipping when there is some.
  const page = await loggedIn();
  await page.setViewportSize({ width: 700, height: 900 });
  await page.goto(`${baseURL}/admin/booking/booking/`);

  assert.notDeepEqual(await page.evaluate(clippedColumns), []);
});
