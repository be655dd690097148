"""IB's own Python client (`ibapi` from PyPI, 9.81: text protocol up to server version 157)
against sim-gateway: connects, reads the account summary, positions and today's executions and
compares them with the book the simulator writes (`--truth`). Usage: official.py path/to/ibkr-cockpit
"""

import json
import os
import sys
import tempfile
import threading
import time

from ibapi.client import EClient
from ibapi.execution import ExecutionFilter
from ibapi.wrapper import EWrapper

sys.path.insert(0, os.path.dirname(__file__))
from conformance import check, close, start_gateway, FAILURES, PASSED  # noqa: E402


class App(EWrapper, EClient):
    def __init__(self):
        EClient.__init__(self, self)
        self.summary = {}
        self.positions = {}
        self.execs = []
        self.errors = []
        self.done = {name: threading.Event() for name in ("id", "summary", "positions", "execs")}

    def nextValidId(self, orderId):
        self.done["id"].set()

    def error(self, reqId, errorCode, errorString, *rest):
        if errorCode not in (2104, 2106, 2158):
            self.errors.append((reqId, errorCode, errorString))

    def accountSummary(self, reqId, account, tag, value, currency):
        self.summary[tag] = (value, currency)

    def accountSummaryEnd(self, reqId):
        self.done["summary"].set()

    def position(self, account, contract, position, avgCost):
        self.positions[contract.symbol] = (float(position), avgCost)

    def positionEnd(self):
        self.done["positions"].set()

    def execDetails(self, reqId, contract, execution):
        self.execs.append(execution.execId)

    def execDetailsEnd(self, reqId):
        self.done["execs"].set()


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: official.py path/to/ibkr-cockpit", file=sys.stderr)
        return 2
    started = time.time()
    truth_path = os.path.join(tempfile.mkdtemp(prefix="official-"), "truth.json")
    proc, port = start_gateway(sys.argv[1], truth_path, [])
    app = App()
    try:
        truth = json.load(open(truth_path))
        acct = truth["world"]["accounts"][0]
        app.connect("127.0.0.1", port, clientId=9)
        threading.Thread(target=app.run, daemon=True).start()
        check("official: connected", app.done["id"].wait(15), f"{app.errors}")
        check("official: server version", app.serverVersion() == 157, f"{app.serverVersion()}")
        app.reqAccountSummary(1, "All", "NetLiquidation,MaintMarginReq,Leverage,LookAheadNextChange")
        app.reqPositions()
        app.reqExecutions(2, ExecutionFilter())
        for name in ("summary", "positions", "execs"):
            check(f"official: {name} end", app.done[name].wait(15), f"{app.errors}")
        nlv = app.summary.get("NetLiquidation")
        check("official: NetLiquidation", nlv is not None and close(float(nlv[0]), acct["net_liquidation"])
              and nlv[1] == acct["base_currency"], f"{nlv}")
        maint = app.summary.get("MaintMarginReq")
        check("official: MaintMarginReq", maint is not None and close(float(maint[0]), acct["maint_margin"]), f"{maint}")
        lev = app.summary.get("Leverage")
        check("official: Leverage", lev is not None and close(float(lev[0]), acct["leverage"], 0.006), f"{lev}")
        for p in truth["world"]["positions"]:
            got = app.positions.get(p["symbol"])
            check(f"official: position {p['symbol']}", got is not None and got[0] == p["quantity"]
                  and close(got[1], p["avg_cost"], 1e-6), f"{got}, want {p}")
        today = time.strftime("%Y%m%d", time.gmtime())
        todays = [f["exec_id"] for f in truth["fills"]
                  if time.strftime("%Y%m%d", time.gmtime(f["time"])) == today]
        check("official: today's executions", sorted(app.execs) == sorted(todays), f"{app.execs} vs {todays}")
    finally:
        app.disconnect()
        proc.terminate()
        proc.wait(timeout=10)
    print(f"{len(PASSED)} passed, {len(FAILURES)} failed in {time.time() - started:.1f}s")
    for f in FAILURES:
        print("FAILED:", f, file=sys.stderr)
    return 1 if FAILURES or not PASSED else 0


if __name__ == "__main__":
    sys.exit(main())
