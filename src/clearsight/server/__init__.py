"""The review server: humans decide about a case's queue behind blur, and are audited.

``create_app`` builds the FastAPI app for one case store; ``clearsight serve`` runs it
under uvicorn. Pages are server-rendered forms with one small same-origin script; the
JSON API under ``/api/`` does the same work for other clients.
"""

from clearsight.server.app import create_app
from clearsight.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
