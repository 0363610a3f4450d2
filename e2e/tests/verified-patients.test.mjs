// Verified patients (MEDIQUEUE_PATIENT_AUTH=oidc): a patient signs in through a real OpenID
// provider (node-oidc-provider, started by e2e/run.py), books, and finds the booking under
// "My bookings"; nobody else, signed in or not, opens it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  browserPerFile,
  createDoctor,
  createSlot,
  daysAhead,
  screenshot,
  textOf,
} from './support.mjs';

const verifiedURL = process.env.E2E_VERIFIED_BASE_URL;
const issuer = process.env.E2E_OIDC_ISSUER;
if (!verifiedURL || !issuer) throw new Error('run the browser tests with `make e2e`');

const browser = browserPerFile();

// The provider's own pages: its login form (any name signs in as that subject), then consent.
async function signInAtTheProvider(page, patient) {
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
  await page.locator('input[name="login"]').fill(patient);
  await page.locator('input[name="password"]').fill('any password: the test provider');
  await screenshot(page, 'verified-01-provider-login');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.waitForURL((url) => url.href.startsWith(`${issuer}/interaction/`));
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('a patient signs in through the provider, books, and sees it under My bookings', async () => {
  const doctor = await createDoctor('Dr. Vera Verified', 'General practice');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(24, 10), totalSeats: 2 });
  const patient = `verified-${Date.now()}`;
  const page = await (await browser().newContext()).newPage();

  // Not signed in: the booking page sends the patient to the provider, then back to it.
  await page.goto(`${verifiedURL}/slots/${slot.id}/book`);
  await signInAtTheProvider(page, patient);
  await page.waitForURL(`${verifiedURL}/slots/${slot.id}/book`);
  assert.equal(await page.locator('strong[data-patient]').getAttribute('data-patient'), patient);
  assert.equal(await page.getByLabel('Your name or patient number').count(), 0);
  await screenshot(page, 'verified-02-booking-form');

  await page.getByRole('button', { name: 'Book this appointment' }).click();
  await page.waitForURL(/\/bookings\/[A-Za-z0-9_-]{22}$/);
  const reference = await textOf(page.locator('.reference'));

  await page.getByRole('link', { name: 'My bookings' }).click();
  await page.waitForURL(`${verifiedURL}/me/bookings`);
  const listed = page.locator(`li.my-booking[data-reference="${reference}"]`);
  assert.equal(await listed.count(), 1);
  assert.equal(await listed.getAttribute('data-status'), 'CONFIRMED');
  assert.match(await textOf(listed), /Dr\. Vera Verified/);
  await screenshot(page, 'verified-03-my-bookings');

  // Someone not signed in is sent to sign in; another patient gets "not found".
  const stranger = await (await browser().newContext()).newPage();
  await stranger.goto(`${verifiedURL}/bookings/${reference}`);
  await signInAtTheProvider(stranger, `someone-else-${Date.now()}`);
  await stranger.waitForURL(`${verifiedURL}/bookings/${reference}`);
  assert.match(await textOf(stranger.locator('main')), /No booking with this reference exists/);
  assert.equal(await stranger.locator('.reference').count(), 0);

  // Signed out, the pages offer to sign in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${verifiedURL}/`);
  assert.equal(await page.getByRole('link', { name: 'Sign in' }).count(), 1);
  assert.equal(await page.getByRole('link', { name: 'My bookings' }).count(), 0);
});
