"""MediQueue chaos: faults during flash crowds, then proof that nothing acknowledged was lost.

    python -m loadtests.chaos [--only NAME] [--seconds N] ...   (or: make chaos)

Starts a throwaway PostgreSQL cluster in a temporary directory (never the machine's, never the
checkout's), migrates it, serves MediQueue from it with the project's gunicorn config in
production mode on 127.0.0.1, and runs each scenario against it:

  worker-kills        SIGKILL a gunicorn worker several times during a flash crowd
  db-restart          restart PostgreSQL (pg_ctl restart -m fast) while the service is idle,
                      then twice during a flash crowd
  db-crash            stop PostgreSQL like a crash (-m immediate), keep it down a second, start
                      it again with crash recovery: while idle, then twice during a flash crowd
  client-disconnects  beside a flash crowd, clients that send a booking and hang up before the
                      answer (FIN or reset), send half a request, or time out after milliseconds
  waitlist            a full slot's holders all cancel, handing their seats to its waiting list,
                      while a gunicorn worker and (twice) the notices' worker are killed and
                      PostgreSQL restarts: every promotion in join order, every notice sent, one
                      Message-ID each at the SMTP server (loadtests/chaos/waitlist.py)
  queue               a crowd books through the booking queue (RabbitMQ, a node of the run's
                      own) while the allocator dies before a batch's commit, then between its
                      commit and its ack, and RabbitMQ restarts: every accepted ticket decided
                      (lost=0), nothing booked twice, first come first served
                      (loadtests/chaos/queue.py)

The flash crowd: every client books for a patient id never used before; a new wave of a few
small slots opens every couple of seconds, so that seats are being sold out whenever a fault
hits. Afterwards, each scenario prints one line and passes only if every 201 a client received
is a CONFIRMED booking in the database (lost=0), no slot holds more bookings than seats
(overbooked=0), `manage.py check_bookings` passes, and the service answers normally again
(/readyz 200 and a burst of fresh bookings all 201). A booking committed whose client never
heard the answer (unacked) is booked once more for that patient and must answer 409, the
seat still held once. A 5xx passes only for a request in flight while the database was away; the
line counts them (5xx=), with requests that got no answer at all (unanswered=). Exit status 1
on any violation.

Everything is bounded: each scenario runs for --seconds plus recovery, on loopback only; the
cluster and the service are stopped and the temporary directory deleted at the end, also on
an error or Ctrl+C. gunicorn's log is kept in loadtests/reports/.
"""
