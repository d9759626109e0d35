"""The payments service as a child process, for the crash-recovery test.

``python -m tests.payments.crash_service MODE DIR`` runs ``web.server.serve`` (the same
start-up as ``python -m web.server``: migrate, recover, listen) with test hooks in place of
the job pipeline:

* ``hang``: fulfilment writes ``DIR/started-<order>`` and then blocks - the process is SIGKILLed
  there by the test, i.e. after the payment committed and before anything was delivered;
* ``deliver``: fulfilment finishes the order at once (as the pipeline + bot would) and appends the
  order id to ``DIR/delivered``.

Configuration (database, webhook secret) comes from the environment, as in production. The bound
port is written to ``DIR/port`` once the service is ready.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from pathlib import Path

from payments import Order, Payments, Settings
from web import ServiceHooks
from web.server import serve


def main() -> None:
    mode, directory = sys.argv[1], Path(sys.argv[2])
    settings = Settings.from_env()

    def make_hooks(payments: Payments) -> ServiceHooks:
        def on_paid(order: Order) -> None:
            if mode == "hang":
                (directory / f"started-{order.id}").write_text("started")
                threading.Event().wait()  # never returns: the test kills us here
            payments.ledger.mark_delivered(order.id, actor="crash-test")
            with (directory / "delivered").open("a") as fh:
                fh.write(order.id + "\n")

        return ServiceHooks(on_paid=on_paid)

    def ready(port: int) -> None:
        tmp = directory / "port.tmp"
        tmp.write_text(str(port))
        tmp.replace(directory / "port")  # atomic: the test never reads half a number

    async def run() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await serve(
            settings,
            make_hooks,
            stop=stop,
            on_ready=ready,
        )

    asyncio.run(run())


if __name__ == "__main__":
    main()
