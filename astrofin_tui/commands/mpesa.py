"""`astrofin mpesa serve`: the Daraja C2B validation and confirmation service (db/mpesa/daraja.py).

Like the SMS dispatcher it is an operator's service: it connects with the configured connection and acts, in each
unit of work, as the staff member named by mpesa.user (a head-office cashier, "mpesa" by default).
"""

from __future__ import annotations

import argparse
import sys

from db.config import load_settings
from db.errors import AstrofinError

DEFAULT_PORT = 8089


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("mpesa", help="receive M-Pesa paybill payments from Safaricom Daraja")
    commands = parser.add_subparsers(title="mpesa commands", metavar="COMMAND", required=True)
    serve = commands.add_parser("serve", help="answer Daraja's C2B validation and confirmation callbacks "
                                "(behind a TLS reverse proxy; see the README)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: the proxy's)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("-d", "--database", default=None, help="database name (default: configured)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from db.engine import make_engine
    from db.mpesa.daraja import POSTERS, RepositoryInbox, create_app, service_actor
    from db.mpesa.daraja_settings import daraja_settings
    from db.paths import file_logger
    from db.target import resolve

    if not 0 < args.port < 65536:
        raise AstrofinError(f"--port must be between 1 and 65535, not {args.port}")
    settings = load_settings()
    config = daraja_settings(settings)  # refuses, in one line, to start without a token
    logger = file_logger("astrofin.mpesa", "mpesa.log", "%(asctime)s %(levelname)s %(message)s")
    target = resolve(settings, database=args.database)
    # One connection for each callback handled at once, one for each poster and one for the sweep.
    engine = make_engine(target.url, settings, pool_size=config.concurrency + POSTERS + 1, max_overflow=0,
                         pool_timeout=5)
    try:
        actor = service_actor(engine, config.user)
        app = create_app(config, RepositoryInbox(engine, actor), logger)
        sources = ", ".join(str(n) for n in config.allowed_sources) or "any address"
        where = f"http://{args.host}:{args.port}/mpesa/$ASTROFIN_MPESA_TOKEN"
        print(f"M-Pesa callbacks on {where}/validation and {where}/confirmation, posting as {config.user}; "
              f"sources: {sources}", file=sys.stderr, flush=True)
        logger.info("started on %s:%d as %s", args.host, args.port, config.user)
        # No access log (the URL holds the token); the caller's address comes from X-Forwarded-For only as the
        # service's trusted_proxies allow, so uvicorn's own proxy handling is off.
        uvicorn.run(app, host=args.host, port=args.port, access_log=False, proxy_headers=False,
                    server_header=False, log_level="warning", lifespan="on", timeout_graceful_shutdown=10)
        logger.info("stopped")
    finally:
        engine.dispose()
    return 0
