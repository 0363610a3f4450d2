// A patient's way through the pages: the board, booking, the last seat, cancelling.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  api,
  barFill,
  baseURL,
  browserPerFile,
  createDoctor,
  createSlot,
  daysAhead,
  fillANearlyFullSlot,
  screenshot,
  slotCard,
  textOf,
} from './support.mjs';

const browser = browserPerFile();

async function patientPage(viewport = { width: 1100, height: 900 }) {
  const context = await browser().newContext({ viewport });
  return context.newPage();
}

async function bookThroughForm(page, slotId, patient) {
  await page.goto(`${baseURL}/slots/${slotId}/book`);
  await page.getByLabel('Your name or patient number').fill(patient);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/book')),
    page.getByRole('button', { name: 'Book this appointment' }).click(),
  ]);
  await page.waitForLoadState();
  return response;
}

test('a patient books a slot and sees the seats-left bar move', async () => {
  const doctor = await createDoctor('Dr. Ada Booker', 'General practice');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(20, 9), totalSeats: 3 });
  const page = await patientPage();
  const board = `${baseURL}/?doctor=${doctor.id}`;

  await page.goto(board);
  const card = slotCard(page, slot.id);
  assert.equal(await card.getAttribute('data-booked'), '0');
  assert.match(await textOf(card.locator('.seats-text')), /^3 of 3 seats left 0\/3 booked$/);
  assert.equal(await barFill(card), 0);
  assert.match(await textOf(page.locator('h3')), /Dr\. Ada Booker\s+General practice/);
  await screenshot(page, 'patient-01-board');

  await card.getByRole('link', { name: /^Book / }).click();
  await page.waitForURL(`${baseURL}/slots/${slot.id}/book`);
  await page.getByLabel('Your name or patient number').fill('Ada Lovelace');
  await screenshot(page, 'patient-02-booking-form');
  await page.getByRole('button', { name: 'Book this appointment' }).click();

  await page.waitForURL(/\/bookings\/[A-Za-z0-9_-]{22}$/);
  assert.match(await textOf(page.getByRole('status')), /Booking confirmed/);
  const reference = await textOf(page.locator('.reference'));
  assert.equal(page.url(), `${baseURL}/bookings/${reference}`);
  assert.match(await textOf(page.locator('main')), /Dr\. Ada Booker/);
  assert.ok(await page.getByRole('button', { name: 'Cancel this booking' }).isVisible());
  await screenshot(page, 'patient-03-confirmation');

  await page.goto(board);
  assert.equal(await card.getAttribute('data-booked'), '1');
  assert.match(await textOf(card.locator('.seats-text')), /^2 of 3 seats left 1\/3 booked$/);
  const fill = await barFill(card);
  assert.ok(Math.abs(fill - 1 / 3) < 0.02, `the bar fills ${fill} of its track, not a third`);
  await screenshot(page, 'patient-04-board-after-booking');

  const booking = await api('GET', `/api/bookings/${reference}`, undefined, { token: null });
  assert.equal(booking.booking.user_id, 'Ada Lovelace');
});

test('a patient takes the last seat; the next one is told the slot is full', async () => {
  const doctor = await createDoctor('Dr. Last Seat', 'Cardiology');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(21, 10), totalSeats: 1 });
  const first = await patientPage();
  const second = await patientPage();
  // Both open the form while one seat is left.
  for (const [page, name] of [[first, 'First Patient'], [second, 'Second Patient']]) {
    await page.goto(`${baseURL}/slots/${slot.id}/book`);
    await page.getByLabel('Your name or patient number').fill(name);
  }

  await first.getByRole('button', { name: 'Book this appointment' }).click();
  await first.waitForURL(/\/bookings\//);
  assert.match(await textOf(first.getByRole('status')), /Booking confirmed/);

  const [answer] = await Promise.all([
    second.waitForResponse((r) => r.request().method() === 'POST'),
    second.getByRole('button', { name: 'Book this appointment' }).click(),
  ]);
  await second.waitForLoadState();
  assert.equal(answer.status(), 409);
  assert.equal(await textOf(second.getByRole('alert')), 'Sorry, this slot is fully booked.');
  assert.equal(await second.getByLabel('Your name or patient number').count(), 0);
  await screenshot(second, 'patient-05-slot-full-message');

  await second.goto(`${baseURL}/?doctor=${doctor.id}`);
  const card = slotCard(second, slot.id);
  assert.match(await card.getAttribute('class'), /\bis-full\b/);
  assert.equal(await textOf(card.locator('.badge')), 'Full');
  assert.equal(await card.getByRole('link', { name: /^Book / }).count(), 0);
  assert.equal(await barFill(card), 1);
  await screenshot(second, 'patient-06-board-full-slot');

  const counts = await api('GET', `/api/slots/${slot.id}`, undefined, { token: null });
  assert.equal(counts.booked_seats, 1);
});

test('a patient cancels a booking and the seat is free again', async () => {
  const doctor = await createDoctor('Dr. Can Cell', 'Dermatology');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(22, 11), totalSeats: 2 });
  const page = await patientPage();
  await bookThroughForm(page, slot.id, 'Grace Hopper');
  const reference = await textOf(page.locator('.reference'));

  await page.getByRole('button', { name: 'Cancel this booking' }).click();
  await page.waitForLoadState();

  assert.equal(page.url(), `${baseURL}/bookings/${reference}`);
  assert.match(await textOf(page.getByRole('status')), /Booking cancelled; the seat is free again\./);
  assert.equal(await page.locator('[data-status]').getAttribute('data-status'), 'CANCELLED');
  assert.equal(await page.getByRole('button', { name: 'Cancel this booking' }).count(), 0);
  await screenshot(page, 'patient-07-cancelled');

  await page.goto(`${baseURL}/?doctor=${doctor.id}`);
  assert.equal(await slotCard(page, slot.id).getAttribute('data-booked'), '0');
  const booking = await api('GET', `/api/bookings/${reference}`, undefined, { token: null });
  assert.equal(booking.status, 'CANCELLED');
});

test('a patient books with the keyboard alone on a phone-sized screen', async () => {
  const doctor = await createDoctor('Dr. Key Board', 'Paediatrics');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(23, 8), totalSeats: 5 });
  const page = await patientPage({ width: 390, height: 844 });
  await page.goto(`${baseURL}/?doctor=${doctor.id}`);

  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
  await screenshot(page, 'patient-08-phone-board', { fullPage: false });

  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Skip to content');
  let focused = '';
  for (let presses = 0; presses < 15 && !focused.startsWith('Book'); presses += 1) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => document.activeElement.getAttribute('aria-label') ?? '');
  }
  assert.match(focused, /^Book .* with Dr\. Key Board$/);
  await page.keyboard.press('Enter');
  await page.waitForURL(`${baseURL}/slots/${slot.id}/book`);

  for (let presses = 0; presses < 10; presses += 1) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement.name === 'patient')) break;
  }
  await page.keyboard.type('Keyboard Kim');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/bookings\//);
  assert.match(await textOf(page.getByRole('status')), /Booking confirmed/);
  await screenshot(page, 'patient-09-phone-confirmation');
});

test('an unknown booking reference gets a clear page, not an error dump', async () => {
  const page = await patientPage();

  const response = await page.goto(`${baseURL}/bookings/AAAAAAAAAAAAAAAAAAAAAA`);

  assert.equal(response.status(), 404);
  assert.equal(await textOf(page.getByRole('alert')), 'No booking with this reference exists.');
  assert.doesNotMatch(await page.content(), /Traceback|Exception/);
  await screenshot(page, 'patient-10-unknown-booking');
});

test('the board of tomorrow, with a slot just filled (the README picture)', async () => {
  const tomorrow = daysAhead(1, 0).slice(0, 10);
  const filled = await fillANearlyFullSlot(tomorrow);
  const page = await patientPage({ width: 1000, height: 760 });

  await page.goto(`${baseURL}/?date=${tomorrow}`);

  assert.ok((await page.locator('li.slot').count()) >= 4);
  assert.equal(await textOf(slotCard(page, filled.id).locator('.badge')), 'Full');
  await screenshot(page, 'patient-11-board-tomorrow', { fullPage: false, docsName: 'patient-page' });
});
