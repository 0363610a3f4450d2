// The benchmark's reference: the original MediQueue service's published design (Express 5,
// node-postgres pool), run by `make bench` beside MediQueue on the same database, so that every
// run can print MediQueue/reference ratios. It is never part of the product.
//
// Written to the original's design, not improved:
// - POST /api/book is five statements on one pooled connection: BEGIN; SELECT ... FOR UPDATE;
//   UPDATE slots_slot ...; INSERT INTO booking_booking ...; COMMIT. A full slot is refused
//   after taking the lock (BEGIN; SELECT ... FOR UPDATE; ROLLBACK), as the original does.
// - GET /api/slots is one SELECT ... JOIN on the doctors, every slot, no paging.
// It writes MediQueue's tables (slots_doctor, slots_slot, booking_booking) with valid rows: a
// random reference, status 'CONFIRMED', created_at now().
//
// The connection comes from libpq's variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
// PGDATABASE), which node-postgres reads; PORT is the HTTP port (on 127.0.0.1).
// The pool keeps node-postgres' default size (10 connections): the original did not set one.

"use strict";

const crypto = require("node:crypto");
const express = require("express");
const { Pool, types } = require("pg");

// MediQueue's ids are bigint, which node-postgres returns as strings; the original's were
// serial integers, returned as numbers. Keep the original's answers (ids stay below 2^53).
types.setTypeParser(types.builtins.INT8, Number);

const pool = new Pool();
const app = express();
app.use(express.json());

const LIST_SLOTS = `
  SELECT s.*, d.name AS doctor_name, d.specialty
  FROM slots_slot s JOIN slots_doctor d ON d.id = s.doctor_id
  ORDER BY s.start_time, s.id`;

app.get("/api/slots", async (req, res) => {
  const { rows } = await pool.query(LIST_SLOTS);
  res.json(rows);
});

function badBooking(body) {
  const { userId, slotId } = body ?? {};
  const userOk =
    (typeof userId === "string" && userId.trim() !== "" && userId.length <= 64) ||
    (Number.isSafeInteger(userId) && userId >= 0);
  if (!userOk) return "userId must be a non-empty string (at most 64 characters) or a number.";
  if (!Number.isSafeInteger(slotId) || slotId < 1) return "slotId must be a positive integer.";
  return null;
}

app.post("/api/book", async (req, res) => {
  const problem = badBooking(req.body);
  if (problem) return res.status(400).json({ message: problem });
  const slotId = req.body.slotId;
  const userId = String(req.body.userId);

  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const { rows } = await client.query(
      "SELECT total_seats, booked_seats FROM slots_slot WHERE id = $1 FOR UPDATE",
      [slotId],
    );
    if (rows.length === 0) {
      await client.query("ROLLBACK");
      return res.status(404).json({ message: "Slot not found." });
    }
    if (rows[0].booked_seats >= rows[0].total_seats) {
      await client.query("ROLLBACK");
      return res.status(409).json({ message: "Sorry, this slot is fully booked." });
    }
    await client.query("UPDATE slots_slot SET booked_seats = booked_seats + 1 WHERE id = $1", [
      slotId,
    ]);
    const reference = crypto.randomBytes(16).toString("base64url");
    await client.query(
      `INSERT INTO booking_booking (reference, slot_id, user_id, status, created_at)
       VALUES ($1, $2, $3, 'CONFIRMED', now())`,
      [reference, slotId, userId],
    );
    await client.query("COMMIT");
    return res.status(201).json({ message: "Booking confirmed.", reference });
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    if (error.code === "23505") {
      return res.status(409).json({ message: "You already hold a seat in this slot." });
    }
    throw error;
  } finally {
    client.release();
  }
});

// Readiness for the bench's start-up wait; not part of any measurement.
app.get("/healthz", async (req, res) => {
  await pool.query("SELECT 1");
  res.json({ status: "ok" });
});

app.use((req, res) => res.status(404).json({ message: "Not found." }));

// Express 5 passes rejected promises here. Body-parser errors carry their 4xx status.
app.use((error, req, res, next) => {
  const status = error.status >= 400 && error.status < 500 ? error.status : 500;
  if (status === 500) console.error(error);
  res.status(status).json({ message: status === 500 ? "Internal error." : error.message });
});

const port = Number(process.env.PORT || 8310);
const server = app.listen(port, "127.0.0.1", () => {
  console.log(`reference listening on 127.0.0.1:${port}, pg pool max ${pool.options.max}`);
});

function shutdown() {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeAllConnections();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
