// A page on another origin uses the patient API with fetch: CORS must let it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';

import {
  api,
  baseURL,
  createDoctor,
  createSlot,
  daysAhead,
  launchBrowser,
  otherPort,
  screenshot,
  textOf,
} from './support.mjs';

const pageHtml = fs.readFileSync(new URL('../cross-origin/index.html', import.meta.url));
let browser;
let otherOrigin;

before(async () => {
  browser = await launchBrowser();
  otherOrigin = http.createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end(pageHtml);
  });
  await new Promise((resolve) => otherOrigin.listen(otherPort, '127.0.0.1', resolve));
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => otherOrigin?.close(resolve));
});

test('a page on another origin lists slots and books through the API', async () => {
  const doctor = await createDoctor('Dr. Cora Origin', 'Family medicine');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(24, 14), totalSeats: 2 });
  const page = await browser.newPage();
  const origin = `http://127.0.0.1:${otherPort}`;
  assert.notEqual(origin, new URL(baseURL).origin);

  const [slotsAnswer] = await Promise.all([
    page.waitForResponse((r) => r.url().startsWith(`${baseURL}/api/slots`)),
    page.goto(`${origin}/?api=${encodeURIComponent(baseURL)}&doctor=${doctor.id}`),
  ]);
  assert.equal(slotsAnswer.headers()['access-control-allow-origin'], '*');
  await page.locator('#result[data-loaded="1"]').waitFor();

  const [bookAnswer] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${baseURL}/api/book` && r.request().method() === 'POST'),
    page.locator(`button[data-slot-id="${slot.id}"]`).click(),
  ]);
  assert.equal((await bookAnswer.request().allHeaders()).origin, origin);
  assert.equal(bookAnswer.headers()['access-control-allow-origin'], '*');
  await page.locator('#result[data-status]').waitFor();
  assert.equal(await textOf(page.locator('#result')), '201: Booking confirmed.');

  // The control: the admin API stays closed to other origins.
  await page.locator('#admin-api[data-outcome]').waitFor();
  assert.equal(await page.locator('#admin-api').getAttribute('data-outcome'), 'blocked');
  await screenshot(page, 'cross-origin-01-booked');

  const counted = await api('GET', `/api/slots/${slot.id}`, undefined, { token: null });
  assert.equal(counted.booked_seats, 1);
  const doctors = await api('GET', '/api/doctors', undefined, { token: null });
  assert.ok(!doctors.some((d) => d.name === 'Dr. Intruder'), 'the blocked request created nothing');
});
