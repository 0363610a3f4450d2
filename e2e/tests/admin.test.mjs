// The clinic's admin: log in, add a doctor, generate a week of slots, see them, export CSV.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import {
  admin,
  baseURL,
  bookThroughApi,
  browserPerFile,
  daysAhead,
  fillANearlyFullSlot,
  screenshot,
  textOf,
} from './support.mjs';

const browser = browserPerFile();

async function loggedInAdmin() {
  const context = await browser().newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  await page.goto(`${baseURL}/admin/`);
  await page.waitForURL(/\/admin\/login\//);
  await page.getByLabel('Username').fill(admin.username);
  await page.getByLabel('Password').fill(admin.password);
  return page;
}

// The first Monday at least three weeks ahead (UTC, the e2e server's zone): clear of the demo.
function mondayAhead() {
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  day.setUTCDate(day.getUTCDate() + 21);
  while (day.getUTCDay() !== 1) day.setUTCDate(day.getUTCDate() + 1);
  return day;
}

function plusDays(date, days) {
  const copy = new Date(date);
  copy.setUTCDate(copy.getUTCDate() + days);
  return copy.toISOString().slice(0, 10);
}

async function download(page, link) {
  const [file] = await Promise.all([page.waitForEvent('download'), link.click()]);
  return { name: file.suggestedFilename(), text: fs.readFileSync(await file.path(), 'utf8') };
}

test('an admin generates a week of slots, sees them on the overview and exports CSV', async () => {
  const page = await loggedInAdmin();
  await screenshot(page, 'admin-01-login', { fullPage: false });
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${baseURL}/admin/`);

  // A new doctor, through the admin's own form.
  await page.goto(`${baseURL}/admin/slots/doctor/add/`);
  await page.getByLabel('Name').fill('Dr. Grace Weekly');
  await page.getByLabel('Specialty').fill('Neurology');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await page.waitForURL(/\/admin\/slots\/doctor\/$/);

  // Generate: reached from the admin index, like a clinic clerk would.
  await page.goto(`${baseURL}/admin/`);
  await page.locator('#clinic-tools').getByRole('link', { name: 'Generate slots' }).click();
  const monday = mondayAhead();
  await page.getByLabel('Doctor').selectOption({ label: 'Dr. Grace Weekly (Neurology)' });
  await page.getByLabel('First day').fill(plusDays(monday, 0));
  await page.getByLabel('Last day').fill(plusDays(monday, 6));
  await page.getByLabel('Day starts at').fill('09:00');
  await page.getByLabel('Day ends at').fill('12:00');
  await page.getByLabel('Slot length (minutes)').fill('30');
  await page.getByLabel('Seats per slot').fill('4');
  for (const weekday of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday']) {
    assert.ok(await page.getByLabel(weekday).isChecked(), `${weekday} is checked by default`);
  }
  assert.equal(await page.getByLabel('Saturday').isChecked(), false);
  await screenshot(page, 'admin-02-generate-form');
  await page.getByRole('button', { name: 'Generate slots' }).click();

  // Lands on the overview of the generated week: 5 weekdays x 6 half-hours.
  await page.waitForURL(/\/admin\/slots\/slot\/overview\/\?start=/);
  assert.equal(await textOf(page.locator('.messagelist .success')), 'Created 30 slot(s).');
  const doctorRows = page.locator('tr', { has: page.getByRole('rowheader', { name: /Dr\. Grace Weekly/ }) });
  assert.equal(await doctorRows.count(), 5);
  assert.equal(await doctorRows.locator('li.overview-slot').count(), 30);
  for (let day = 0; day < 5; day += 1) {
    const section = page.locator(`section[data-day="${plusDays(monday, day)}"]`);
    assert.equal(await textOf(section.locator('.doctor-total')), '0/24');
  }
  const saturday = page.locator(`section[data-day="${plusDays(monday, 5)}"]`);
  assert.equal(await textOf(saturday.locator('.day-empty')), 'No slots.');
  await screenshot(page, 'admin-03-overview-generated');

  // Running it again skips all thirty.
  await page.goto(`${baseURL}/admin/slots/slot/generate/`);
  await page.getByLabel('Doctor').selectOption({ label: 'Dr. Grace Weekly (Neurology)' });
  await page.getByLabel('First day').fill(plusDays(monday, 0));
  await page.getByLabel('Last day').fill(plusDays(monday, 6));
  await page.getByLabel('Day starts at').fill('09:00');
  await page.getByLabel('Day ends at').fill('12:00');
  await page.getByRole('button', { name: 'Generate slots' }).click();
  await page.waitForURL(/overview/);
  assert.equal(
    await textOf(page.locator('.messagelist .success')),
    'Created 0 slot(s); skipped 30 that already existed.',
  );

  // A patient books the Monday 09:00 slot; the overview shows it, the CSVs carry it.
  const mondaySection = page.locator(`section[data-day="${plusDays(monday, 0)}"]`);
  const firstSlot = mondaySection.locator('tr', { hasText: 'Dr. Grace Weekly' }).locator('li.overview-slot').first();
  const slotId = Number(await firstSlot.getAttribute('data-slot-id'));
  const { booking } = await bookThroughApi(slotId, 'csv-patient');
  await page.reload();
  assert.match(await textOf(firstSlot.locator('.fill-text')), /^1\/4$/);

  const day = await download(page, mondaySection.locator('a.day-csv'));
  assert.equal(day.name, `bookings-${plusDays(monday, 0)}.csv`);
  const [header, ...rows] = day.text.replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.equal(
    header,
    'reference,status,patient,doctor,specialty,slot_id,slot_start,slot_end,booked_at,cancelled_at',
  );
  assert.ok(
    rows.some((row) => row.startsWith(`${booking.reference},CONFIRMED,csv-patient,Dr. Grace Weekly,Neurology,${slotId},`)),
    `the day's CSV lists the booking: ${rows.join(' | ')}`,
  );

  const single = await download(page, firstSlot.getByRole('link', { name: /^Export the bookings of/ }));
  assert.match(single.name, new RegExp(`^bookings-slot-${slotId}-`));
  assert.equal(single.text.replace(/^\ufeff/, '').trim().split(/\r?\n/).length, 2);

  // Every generated slot is in the admin log: the index's recent actions show them.
  await page.goto(`${baseURL}/admin/`);
  const recent = await textOf(page.locator('#recent-actions-module'));
  assert.match(recent, /Dr\. Grace Weekly at \d{4}-\d\d-\d\d \d\d:\d\d/);
  await screenshot(page, 'admin-04-recent-actions', { fullPage: false });
});

test('the overview of today and the next days (the README picture)', async () => {
  const filled = await fillANearlyFullSlot(daysAhead(1, 0).slice(0, 10));
  const page = await loggedInAdmin();
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${baseURL}/admin/`);

  await page.goto(`${baseURL}/admin/slots/slot/overview/`);

  assert.equal(await page.locator('section.overview-day').count(), 7);
  assert.ok((await page.locator('li.overview-slot').count()) >= 16, 'the demo slots are shown');
  const full = page.locator(`li.overview-slot[data-slot-id="${filled.id}"]`);
  assert.match(await full.getAttribute('class'), /\bis-full\b/);
  assert.match(await textOf(full.locator('.fill-text')), /full$/);
  await page.setViewportSize({ width: 1280, height: 820 });
  await screenshot(page, 'admin-05-overview', { fullPage: false, docsName: 'admin-overview' });
});
