"""A stand-in for Synapse 1.94 as an application service sees it.

The integration tests run the real warroom binary against FakeHomeserver
(fakehs.py): it serves the client-server endpoints warroom calls, keeps a
small room/event model, and pushes transactions to warroom the way Synapse
does (batching, retry schedule, retry bodies, field names).  Every behaviour
that copies Synapse cites the captured request in tests/fixtures/synapse/
that shows it.

Modules, one purpose each:
  fakehs.py        FakeHomeserver: wiring, start/stop, the test-side API
  model.py         users, devices, rooms, events and who gets told what
  events.py        identifiers and the event wire format (client format v1)
  csapi.py         the HTTP server for the client-server API
  pusher.py        the transaction pusher thread (Synapse's scheduler)
  asclient.py      HTTP requests from the "homeserver" to the appservice
  faults.py        injected failures, rate limits and delays
  errors.py        MatrixError, the error every layer raises
  registration.py  the tiny YAML reader for registration files
"""

from .errors import MatrixError
from .fakehs import FakeHomeserver, WaitTimeout
from .registration import parse_registration, read_registration

__all__ = ["FakeHomeserver", "MatrixError", "WaitTimeout", "parse_registration", "read_registration"]
