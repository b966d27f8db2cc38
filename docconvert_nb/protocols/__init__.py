"""The wire-protocol facts of each cloud service, in one place per service.

One module per service (:mod:`.aspose`, :mod:`.onlineconvert`,
:mod:`.convertapi`, :mod:`.groupdocs`) holds what the service's public
documentation says: paths, the status vocabulary and how it maps onto
:class:`~docconvert_nb.status.JobStatus`, retention and limits, option and
result-type tables, and the shape of its error answers. The client adapter
(``docconvert_nb.providers.<service>``) and the local simulator
(``docconvert_nb.simulators.<service>``) both import it, so the two sides
cannot drift apart. These modules import neither side, nor Flask.

This package also holds the facts the services share:

* Aspose and GroupDocs run the same OAuth 2 identity server (client
  credentials at ``POST /connect/token``, RFC 6749 §4.4,
  https://docs.aspose.cloud/ocr/authentication/ and
  https://docs.groupdocs.cloud/conversion/authentication/);
* our simulators mark every answer with :data:`SIMULATOR_HEADER`, by which
  an adapter notices that it talks to one.
"""

from __future__ import annotations

#: Response header by which a docconvert_nb simulator says it is one (adapters then report ``is_simulator``).
SIMULATOR_HEADER = "X-Docconvert-Simulator"

#: The OAuth 2 client-credentials token endpoint of the Aspose and GroupDocs identity servers.
OAUTH_TOKEN_PATH = "/connect/token"
#: Token lifetime (seconds) those identity servers announce in ``expires_in``.
OAUTH_TOKEN_LIFETIME = 3600

#: Regular expression of a GUID as the services write them (8-4-4-4-12 hex digits).
GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

__all__ = ["GUID_PATTERN", "OAUTH_TOKEN_LIFETIME", "OAUTH_TOKEN_PATH", "SIMULATOR_HEADER"]
