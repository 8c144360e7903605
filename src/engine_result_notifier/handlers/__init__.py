"""The Lambda handlers, one module per kind of function, as ``template.yaml`` names them.

- ``notify``: the operation entry points (provision, update, terminate), for the engine's notify tasks;
- ``safety_net``: the generic entry point, for events that name their operation and for Step Functions status
  changes;
- ``sweep``: the scheduled sweep for lost status changes.

Each imports only the use cases it runs, so that a cold start loads no more than its function needs.
"""
