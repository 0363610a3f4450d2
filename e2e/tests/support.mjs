// Shared by the browser tests: the browser, the server's address, API set-up, screenshots.
// `make e2e` (e2e/run.py) starts the server and sets the E2E_* variables.
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const baseURL = required('E2E_BASE_URL');
export const admin = {
  username: required('E2E_ADMIN_USERNAME'),
  password: required('E2E_ADMIN_PASSWORD'),
};
export const otherPort = Number(required('E2E_OTHER_PORT'));
const apiToken = required('E2E_API_TOKEN');
const screenshotDir = process.env.E2E_SCREENSHOTS ?? new URL('../screenshots', import.meta.url).pathname;
const docsDir = process.env.E2E_DOCS_DIR; // set by `make docs-screenshots`

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the browser tests with \`make e2e\``);
  return value;
}

// Debian's Chromium: Playwright's own browser downloads do not work on these machines. Each
// launch() gets a fresh, temporary profile (user-data dir) from Playwright, removed on close.
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

// One browser for the test file that calls this at its top: launched before its first test,
// closed after its last. Returns a function that gives the browser.
export function browserPerFile() {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  return () => browser;
}

export async function screenshot(page, name, { fullPage = true, docsName } = {}) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage });
  if (docsName && docsDir) {
    await page.screenshot({ path: path.join(docsDir, `${docsName}.png`), fullPage });
  }
}

// --- Setting up data through the real API ---------------------------------------------------

export async function api(method, urlPath, body, { token = apiToken } = {}) {
  const response = await fetch(`${baseURL}${urlPath}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      ...(token ? { Authorization: `Token ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export function createDoctor(name, specialty) {
  return api('POST', '/api/admin/doctors', { name, specialty });
}

export function createSlot({ doctorId, startTime, totalSeats, durationMinutes = 30 }) {
  return api('POST', '/api/admin/slots', { doctorId, startTime, totalSeats, durationMinutes });
}

export function bookThroughApi(slotId, userId) {
  return api('POST', '/api/book', { userId, slotId }, { token: null });
}

// The demo data has slots one seat short of full: take that seat in one of `date`'s slots, so
// pictures show what a full slot looks like.
export async function fillANearlyFullSlot(date) {
  const slots = await api('GET', `/api/slots?date=${date}`, undefined, { token: null });
  const nearlyFull = slots.find((slot) => slot.available_seats === 1);
  if (!nearlyFull) throw new Error(`no slot on ${date} is one seat short of full`);
  await bookThroughApi(nearlyFull.id, `picture-patient-${nearlyFull.id}`);
  return nearlyFull;
}

// An ISO time `days` from today at hour:minute UTC (the e2e server runs in UTC, the default).
export function daysAhead(days, hour, minute = 0) {
  const now = new Date();
  return new Date(
    Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + days, hour, minute),
  ).toISOString();
}

export function isoDate(date) {
  return date.toISOString().slice(0, 10);
}

// --- Reading the pages ----------------------------------------------------------------------

export function slotCard(page, slotId) {
  return page.locator(`li.slot[data-slot-id="${slotId}"]`);
}

// How much of its track a slot's seats-left bar fills, as the browser lays it out (0..1).
export async function barFill(card) {
  return card.locator('.seats-fill').evaluate(
    (fill) => fill.getBoundingClientRect().width / fill.parentElement.getBoundingClientRect().width,
  );
}

export async function textOf(locator) {
  await locator.waitFor();
  return (await locator.innerText()).replace(/\s+/g, ' ').trim();
}
