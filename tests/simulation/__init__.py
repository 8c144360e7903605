"""A seeded simulation of engines, events, faults and operators (docs/development.md, "Tests"; ``make simulate``).

Many engine executions run through the package's real use cases (``Notify``, ``Rescuer``, ``Sweep``, the operators'
commands) and real Powertools idempotency on moto's DynamoDB, against models of the services around them that
answer as the services do. A seed chooses the story: the executions, the faults and when each thing happens. When
every retry is spent and a last sweep ran, one invariant is checked for every record (``world.Invariant``); a
failing story is replayed by its seed and shrunk to the shortest one that still fails (``story.shrink``).
"""
