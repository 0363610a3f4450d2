// The waiting list in the browser: a patient joins a full slot's list, another patient cancels,
// the first sees "booked" and can read the email that told them so.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  api, baseURL, bookThroughApi, browserPerFile, createDoctor, createSlot, daysAhead, screenshot,
  slotCard, textOf,
} from './support.mjs';

const browser = browserPerFile();

async function reloadUntil(page, condition, seconds = 30) {
  for (let tries = 0; tries < seconds * 2; tries += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.reload();
  }
  assert.fail(`not so after ${seconds} s: ${page.url()}`);
}

test('a waiting patient gets the seat another patient gives up, and the email says so', async () => {
  const doctor = await createDoctor('Dr. Wait Listed', 'Dermatology');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(22, 11), totalSeats: 1 });
  const holder = await bookThroughApi(slot.id, 'Holding Harriet');
  const page = await (await browser().newContext({ viewport: { width: 1100, height: 900 } })).newPage();

  await page.goto(`${baseURL}/?doctor=${doctor.id}`);
  const card = slotCard(page, slot.id);
  assert.equal(await textOf(card.locator('.badge')), 'Full');
  await card.getByRole('link', { name: /join the waiting list/ }).click();
  await page.waitForURL(`${baseURL}/slots/${slot.id}/waitlist`);
  await page.getByLabel('Your name or patient number').fill('Waiting Wendy');
  await page.getByLabel('Email (optional)').fill('wendy@example.org');
  await screenshot(page, 'waitlist-01-join-form');
  await page.getByRole('button', { name: 'Join the waiting list' }).click();

  await page.waitForURL(/\/waitlist\/[A-Za-z0-9_-]{22}$/);
  assert.equal(await page.locator('[data-position]').getAttribute('data-position'), '1');
  assert.equal(await page.locator('[data-status]').getAttribute('data-status'), 'WAITING');
  await screenshot(page, 'waitlist-02-place-in-line');

  await api('POST', `/api/bookings/${holder.booking.reference}/cancel`, undefined, { token: null });
  await page.reload();
  assert.equal(await page.locator('[data-status]').getAttribute('data-status'), 'BOOKED');
  assert.match(await textOf(page.locator('h1')), /You got a seat/);

  // The worker sends the notices after the commit: the links appear once the files are there.
  const promotion = page.getByRole('link', { name: /View the email: Promoted/ });
  await reloadUntil(page, async () => (await promotion.count()) === 1);
  await screenshot(page, 'waitlist-03-booked');
  await page.getByRole('link', { name: 'See your booking' }).click();
  await page.waitForURL(/\/bookings\/[A-Za-z0-9_-]{22}$/);
  const reference = await textOf(page.locator('.reference'));
  await page.goBack();
  await promotion.click();
  const email = await textOf(page.locator('body'));
  assert.match(email, /A seat was freed and it is yours/);
  assert.ok(email.includes(reference), 'the promotion email carries the new booking reference');
});
