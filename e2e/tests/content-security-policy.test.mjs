// The Content-Security-Policy (no inline script or style, nothing from other origins) breaks no
// page: a real browser reports every blocked script, style or image as a violation, and every
// page a patient or the clinic's staff opens must report none.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  admin,
  api,
  baseURL,
  bookThroughApi,
  browserPerFile,
  createDoctor,
  createSlot,
  daysAhead,
} from './support.mjs';

const browser = browserPerFile();

// Recorded in the page itself, from its very first script on: the browser's own list of what
// the policy blocked.
function recordViolations() {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI || 'inline'}`);
  });
}

async function violationsOn(page, url) {
  await page.goto(url);
  await page.waitForLoadState('networkidle');
  return page.evaluate(() => window.__cspViolations);
}

test('no page breaks the Content-Security-Policy', async () => {
  const doctor = await createDoctor('Dr. Policy', 'Security');
  const slot = await createSlot({ doctorId: doctor.id, startTime: daysAhead(45, 9), totalSeats: 3 });
  const { booking } = await bookThroughApi(slot.id, 'csp-patient');
  const full = await createSlot({ doctorId: doctor.id, startTime: daysAhead(45, 10), totalSeats: 1 });
  await bookThroughApi(full.id, 'csp-holder');
  const { entry } = await api('POST', `/api/slots/${full.id}/waitlist`, { userId: 'csp-waiter' }, { token: null });
  const context = await browser().newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(recordViolations);
  const page = await context.newPage();

  const patientPages = [
    '/',
    `/slots/${slot.id}/book`,
    `/bookings/${booking.reference}`,
    `/slots/${full.id}/waitlist`,
    `/waitlist/${entry.reference}`,
    '/api/docs',
  ];
  for (const path of patientPages) {
    assert.deepEqual(await violationsOn(page, `${baseURL}${path}`), [], path);
  }

  await page.goto(`${baseURL}/admin/login/`);
  await page.getByLabel('Username').fill(admin.username);
  await page.getByLabel('Password').fill(admin.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${baseURL}/admin/`);
  const adminPages = [
    '/admin/',
    '/admin/slots/slot/',
    `/admin/slots/slot/${slot.id}/change/`,
    '/admin/slots/slot/overview/',
    '/admin/slots/slot/generate/',
    '/admin/booking/booking/',
    `/admin/slots/slot/${full.id}/change/`,
    '/admin/booking/waitlistentry/',
    '/admin/booking/notice/',
  ];
  for (const path of adminPages) {
    assert.deepEqual(await violationsOn(page, `${baseURL}${path}`), [], path);
  }
  await context.close();
});
