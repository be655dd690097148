"""Conformance check: a TWS API client nobody on this project wrote (ib_async) against
`ibkr-cockpit sim-gateway`. Every check compares what the client reads with the simulator's
own book (written by `--truth`), with prices frozen so the two cannot drift apart.

Usage: python conformance.py path/to/ibkr-cockpit
Exits non-zero, naming every failed check, if anything differs.
"""

import asyncio
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time

from ib_async import (
    IB,
    Contract,
    ExecutionFilter,
    Forex,
    LimitOrder,
    Option,
    ScannerSubscription,
    Stock,
    TagValue,
)

FAILURES: list[str] = []
PASSED: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    (PASSED if ok else FAILURES).append(name if ok else f"{name}: {detail}")
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f" -- {detail}"), flush=True)


def close(a: float, b: float, tol: float = 0.011) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tol


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(binary: str, truth_path: str, extra: list[str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [binary, "sim-gateway", "--port", str(port), "--frozen", "--truth", truth_path, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"sim-gateway exited early: {proc.stderr.read().decode()}")
        if os.path.exists(truth_path) and os.path.getsize(truth_path) > 0:
            return proc, port
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("sim-gateway did not start within 30 s")


async def run(binary: str) -> None:
    tmp = tempfile.mkdtemp(prefix="conformance-")
    truth_path = os.path.join(tmp, "truth.json")
    proc, port = start_gateway(binary, truth_path, ["--faults", "nosub=HDRX"])
    try:
        truth = json.load(open(truth_path))
        await checks(port, truth)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def checks(port: int, truth: dict) -> None:
    world = truth["world"]
    acct = world["accounts"][0]
    account = acct["account"]
    ib = IB()
    ib.RequestTimeout = 20
    await ib.connectAsync("127.0.0.1", port, clientId=7, timeout=20, raiseSyncErrors=True)
    check("handshake negotiates a text version", ib.client.serverVersion() <= 178,
          f"server version {ib.client.serverVersion()}")

    # managed accounts
    check("managed accounts", ib.managedAccounts() == [account], f"{ib.managedAccounts()}")

    # account summary
    summary = {v.tag: v for v in await ib.accountSummaryAsync(account)}
    expect = {
        "NetLiquidation": acct["net_liquidation"],
        "GrossPositionValue": acct["gross_position_value"],
        "TotalCashValue": acct["total_cash"],
        "EquityWithLoanValue": acct["equity_with_loan"],
        "InitMarginReq": acct["init_margin"],
        "MaintMarginReq": acct["maint_margin"],
        "ExcessLiquidity": acct["excess_liquidity"],
        "AvailableFunds": acct["available_funds"],
        "BuyingPower": acct["buying_power"],
    }
    for tag, want in expect.items():
        got = summary.get(tag)
        check(f"account summary {tag}", got is not None and close(float(got.value), want)
              and got.currency == acct["base_currency"], f"got {got}, want {want:.2f}")
    # The look-ahead and Full margins of a book with no scheduled margin change equal today's.
    for tags, want in [
        (("FullInitMarginReq", "LookAheadInitMarginReq"), acct["init_margin"]),
        (("FullMaintMarginReq", "LookAheadMaintMarginReq"), acct["maint_margin"]),
        (("FullAvailableFunds", "LookAheadAvailableFunds"), acct["available_funds"]),
        (("FullExcessLiquidity", "LookAheadExcessLiquidity"), acct["excess_liquidity"]),
    ]:
        for tag in tags:
            got = summary.get(tag)
            check(f"account summary {tag}", got is not None and close(float(got.value), want)
                  and got.currency == acct["base_currency"], f"got {got}, want {want:.2f}")
    lev = summary.get("Leverage")
    check("account summary Leverage", lev is not None
          and close(float(lev.value), acct["leverage"], 0.006), f"{lev}, want {acct['leverage']:.2f}")
    prev = summary.get("PreviousDayEquityWithLoanValue")
    check("account summary PreviousDayEquityWithLoanValue", prev is not None
          and close(float(prev.value), acct["equity_with_loan"] - acct["daily_pnl"]), f"{prev}")
    nxt = summary.get("LookAheadNextChange")
    check("account summary LookAheadNextChange", nxt is not None
          and 0 < int(nxt.value) - time.time() < 5 * 86400, f"{nxt}")
    cushion = summary.get("Cushion")
    check("account summary Cushion", cushion is not None
          and close(float(cushion.value), acct["cushion"], 0.0001), f"{cushion}")

    # positions and portfolio
    positions = {p.contract.conId: p for p in ib.positions(account)}
    portfolio = {p.contract.conId: p for p in ib.portfolio(account)}
    for p in world["positions"]:
        got = positions.get(p["con_id"])
        check(f"position {p['symbol']}", got is not None and got.position == p["quantity"]
              and close(got.avgCost, p["avg_cost"], 1e-6), f"got {got}, want {p}")
        item = portfolio.get(p["con_id"])
        check(f"portfolio {p['symbol']}", item is not None and item.position == p["quantity"]
              and close(item.marketPrice, p["price"], 1e-6)
              and close(item.marketValue, p["market_value"])
              and close(item.unrealizedPNL, p["unrealized_pnl"]), f"got {item}, want {p}")

    # PnL and PnL single
    pnl = ib.reqPnL(account)
    await wait_for(lambda: not math.isnan(pnl.dailyPnL))
    check("PnL daily/unrealized/realized", close(pnl.dailyPnL, acct["daily_pnl"])
          and close(pnl.unrealizedPnL, acct["unrealized_pnl"])
          and close(pnl.realizedPnL, acct["realized_pnl"]), f"got {pnl}, want {acct}")
    p0 = world["positions"][0]
    single = ib.reqPnLSingle(account, "", p0["con_id"])
    await wait_for(lambda: not math.isnan(single.dailyPnL))
    # PnL single is in the account's base currency; the book's positions are in theirs.
    rate = 1.0 if p0["currency"] == acct["base_currency"] else world["fx"][f"{p0['currency']}.{acct['base_currency']}"]
    check("PnL single", single.position == p0["quantity"]
          and close(single.unrealizedPnL, p0["unrealized_pnl"] * rate, 0.02)
          and close(single.value, p0["market_value"] * rate, 0.02)
          and close(single.dailyPnL, p0["daily_pnl"] * rate, 0.02), f"got {single}, want {p0} at {rate}")

    # live quotes
    quotes = world["quotes"]
    kryx = Stock("KRYX", "SMART", "USD")
    await ib.qualifyContractsAsync(kryx)
    check("qualify KRYX", kryx.conId == quotes["KRYX"]["con_id"], f"{kryx}")
    t = ib.reqMktData(kryx, "", False, False)
    await wait_for(lambda: not math.isnan(t.bid) and not math.isnan(t.last) and not math.isnan(t.close))
    q = quotes["KRYX"]
    check("live quote KRYX bid/ask/last/close", close(t.bid, q["bid"], 1e-6) and close(t.ask, q["ask"], 1e-6)
          and close(t.last, q["last"], 1e-6) and close(t.close, q["close"], 1e-6),
          f"got bid {t.bid} ask {t.ask} last {t.last} close {t.close}, want {q}")
    check("live quote market data type", t.marketDataType == 1, f"{t.marketDataType}")
    ib.cancelMktData(kryx)

    # delayed quotes (HDRX has no subscription: IB sends delayed data after reqMarketDataType(3))
    ib.reqMarketDataType(3)
    hdrx = Stock("HDRX", "SMART", "USD")
    await ib.qualifyContractsAsync(hdrx)
    d = ib.reqMktData(hdrx, "", False, False)
    await wait_for(lambda: not math.isnan(d.bid) and not math.isnan(d.last))
    q = quotes["HDRX"]
    check("delayed quote HDRX", d.marketDataType == 3 and close(d.bid, q["bid"], 1e-6)
          and close(d.last, q["last"], 1e-6), f"type {d.marketDataType} bid {d.bid} last {d.last}, want {q}")
    ib.cancelMktData(hdrx)
    ib.reqMarketDataType(1)

    # history: daily, 1-minute, FX midpoint
    daily = await ib.reqHistoricalDataAsync(kryx, "", "1 Y", "1 day", "TRADES", True, 1)
    dates = [b.date for b in daily]
    check("daily history", len(daily) >= 240 and dates == sorted(set(dates))
          and all(b.low <= b.open <= b.high and b.low <= b.close <= b.high for b in daily),
          f"{len(daily)} bars")
    check("daily history ends at the quote", len(daily) > 0 and (close(daily[-1].close, quotes["KRYX"]["last"], 1e-6)
          or close(daily[-1].close, quotes["KRYX"]["close"], 1e-6)),
          f"last bar {daily[-1] if daily else None}, quote {quotes['KRYX']}")
    minute = await ib.reqHistoricalDataAsync(kryx, "", "1 D", "1 min", "TRADES", True, 2)
    check("1-minute history", len(minute) > 0 and all(b.volume >= 0 for b in minute), f"{len(minute)} bars")
    minute_named = await ib.reqHistoricalDataAsync(kryx, "", "1 D", "1 hour", "TRADES", True, 1)
    check("intraday history with formatDate 1", len(minute_named) > 0
          and all(getattr(b.date, "tzinfo", None) is not None for b in minute_named),
          f"{minute_named[:1]}")
    head = await ib.reqHeadTimeStampAsync(kryx, "TRADES", True, 2)
    check("head timestamp", head is not None and head.year >= 2020, f"{head}")
    rule = await ib.reqMarketRuleAsync(26)
    check("market rule 26", rule is not None and len(rule) == 1 and close(rule[0].increment, 0.01, 1e-12), f"{rule}")
    eurusd = Forex("EURUSD")
    fx = await ib.reqHistoricalDataAsync(eurusd, "", "2 D", "1 hour", "MIDPOINT", False, 2)
    fx_mid = world["fx"].get("EUR.USD")
    check("FX midpoint history", len(fx) > 0 and fx_mid is not None
          and abs(fx[-1].close - fx_mid) / fx_mid < 0.05, f"{len(fx)} bars, last {fx[-1] if fx else None}, mid {fx_mid}")

    # IDEALPRO keeps no trades: FX TRADES history is IB's error 162, no bars.
    errors = []
    ib.errorEvent += lambda req_id, code, msg, contract: errors.append((code, msg))
    fx_trades = await ib.reqHistoricalDataAsync(eurusd, "", "1 D", "1 day", "TRADES", False, 2)
    want_msg = "Historical Market Data Service error message:No historical market data for EUR/CASH@FXSUBPIP Last 1d"
    check("FX TRADES history is error 162", len(fx_trades) == 0 and (162, want_msg) in errors, f"{fx_trades}, {errors}")

    # contract details and matching symbols
    details = await ib.reqContractDetailsAsync(Stock("KRYX", "SMART", "USD"))
    check("contract details", len(details) == 1 and details[0].contract.conId == q_con(quotes, "KRYX")
          and details[0].longName != "" and details[0].tradingHours != "" and details[0].minTick > 0,
          f"{details}")
    matches = await ib.reqMatchingSymbolsAsync("KRY")
    check("matching symbols", matches is not None
          and any(m.contract.conId == q_con(quotes, "KRYX") for m in matches), f"{matches}")

    # option parameters and an option's greeks
    chains = await ib.reqSecDefOptParamsAsync("KRYX", "", "STK", kryx.conId)
    check("option parameters", len(chains) > 0 and all(c.expirations and c.strikes for c in chains), f"{chains}")
    if chains:
        chain = next((c for c in chains if c.exchange == "SMART"), chains[0])
        last = quotes["KRYX"]["last"]
        strike = min(chain.strikes, key=lambda s: abs(s - last))
        opt = Option("KRYX", sorted(chain.expirations)[0], strike, "C", "SMART", currency="USD")
        await ib.qualifyContractsAsync(opt)
        check("qualify option", opt.conId > 0, f"{opt}")
        ot = ib.reqMktData(opt, "", False, False)
        await wait_for(lambda: ot.modelGreeks is not None)
        g = ot.modelGreeks
        check("option greeks", g is not None and 0 < g.delta < 1 and g.gamma > 0 and g.impliedVol > 0
              and close(g.undPrice, last, 1e-6), f"{g}")
        ib.cancelMktData(opt)

    # what-if
    state = await ib.whatIfOrderAsync(kryx, LimitOrder("BUY", 10, quotes["KRYX"]["last"]))
    check("what-if margins", state is not None and state.initMarginBefore != ""
          and close(float(state.initMarginBefore), acct["init_margin"])
          and float(state.initMarginAfter) > float(state.initMarginBefore)
          and state.commission > 0, f"{state}")

    # open orders: this client placed none (IB's reqOpenOrders); every client's via reqAllOpenOrders
    mine = await ib.reqOpenOrdersAsync()
    check("open orders of this client", len(mine) == 0, f"{mine}")
    # open orders (all clients) and executions
    await ib.reqAllOpenOrdersAsync()
    trades = {t.order.orderId: t for t in ib.openTrades()}
    for o in truth["open_orders"]:
        got = trades.get(o["order_id"])
        check(f"open order {o['order_id']}", got is not None and got.contract.symbol == o["symbol"]
              and got.order.action == o["action"] and got.order.totalQuantity == o["qty"]
              and close(got.order.lmtPrice, o["limit"], 1e-9) and got.order.clientId == o["client_id"]
              and got.orderStatus.status == "Submitted", f"got {got}, want {o}")
    # As at IB, an unfiltered request answers today's (UTC, the simulator's zone) fills only.
    fills = await ib.reqExecutionsAsync(ExecutionFilter())
    today = time.strftime("%Y%m%d", time.gmtime())
    todays = [f for f in truth["fills"] if time.strftime("%Y%m%d", time.gmtime(f["time"])) == today]
    check("executions default to today's", sorted(x.execution.execId for x in fills)
          == sorted(f["exec_id"] for f in todays) and len(todays) > 0, f"{fills}, want {todays}")
    sold = await ib.reqExecutionsAsync(ExecutionFilter(side="SELL", symbol="FELN", secType="STK"))
    check("execution filter side/symbol", [x.execution.execId for x in sold]
          == [f["exec_id"] for f in todays if f["side"] == "SLD" and f["symbol"] == "FELN"], f"{sold}")
    none = await ib.reqExecutionsAsync(ExecutionFilter(symbol="KRYX"))
    check("execution filter symbol without fills today", all(f["symbol"] != "KRYX" for f in todays)
          and len(none) == 0, f"{none}")
    # ib_async attaches commission reports to the fills it keeps (ib.fills()).
    by_id = {f.execution.execId: f for f in ib.fills() if f in fills or f.execution.execId in {x.execution.execId for x in fills}}
    for f in todays:
        got = by_id.get(f["exec_id"])
        check(f"execution {f['exec_id']}", got is not None and got.contract.symbol == f["symbol"]
              and got.execution.side == f["side"] and got.execution.shares == f["shares"]
              and close(got.execution.price, f["price"], 1e-9)
              and close(got.commissionReport.commission, f["commission"], 1e-9),
              f"got {got}, want {f}")

    # news
    providers = await ib.reqNewsProvidersAsync()
    codes = sorted(p.code for p in providers)
    check("news providers", codes == ["BRFG", "BRFUPDN", "DJ-N"], f"{codes}")
    headlines = await ib.reqHistoricalNewsAsync(kryx.conId, "BRFG+DJ-N", "", "", 5)
    check("historical news", headlines is not None and 0 < len(headlines) <= 5, f"{headlines}")
    if headlines:
        article = await ib.reqNewsArticleAsync(headlines[0].providerCode, headlines[0].articleId)
        check("news article", article is not None and article.articleText != "", f"{article}")

    # market scanner: parameters, then a scan with a field limit and a filter option
    xml = await ib.reqScannerParametersAsync()
    check("scanner parameters", "<scanCode>MOST_ACTIVE</scanCode>" in xml
          and "<locationCode>STK.US</locationCode>" in xml, xml[:200])
    price_floor = 20.0
    rows = await ib.reqScannerDataAsync(
        ScannerSubscription(instrument="STK", locationCode="STK.US", scanCode="MOST_ACTIVE",
                            numberOfRows=10),
        [], [TagValue("priceAbove", str(price_floor))])
    got = [r.contractDetails.contract.symbol for r in rows]
    usd = {s: q for s, q in quotes.items() if q["currency"] == "USD"}
    volumes = [usd[s]["volume"] for s in got if s in usd]
    below = [s for s, q in usd.items() if q["last"] < price_floor]
    check("scanner MOST_ACTIVE", len(got) > 0 and all(s in usd for s in got)
          and volumes == sorted(volumes, reverse=True)
          and all(usd[s]["last"] > price_floor for s in got)
          and [r.rank for r in rows] == list(range(len(rows)))
          and all(r.contractDetails.contract.conId == usd[r.contractDetails.contract.symbol]["con_id"]
                  for r in rows),
          f"got {got} (USD stocks below {price_floor}: {below})")
    try:
        bad = await asyncio.wait_for(ib.reqScannerDataAsync(
            ScannerSubscription(instrument="STK", locationCode="STK.US", scanCode="NOT_A_SCAN")), 5)
        check("scanner refuses an unknown scan code", len(bad) == 0, f"{bad}")
    except asyncio.TimeoutError:
        check("scanner refuses an unknown scan code", False, "no answer in 5 s")

    ib.disconnect()


def q_con(quotes: dict, sym: str) -> int:
    return quotes[sym]["con_id"]


async def wait_for(cond, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        await asyncio.sleep(0.05)


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: conformance.py path/to/ibkr-cockpit", file=sys.stderr)
        return 2
    started = time.time()
    asyncio.run(asyncio.wait_for(run(sys.argv[1]), 100))
    print(f"{len(PASSED)} passed, {len(FAILURES)} failed in {time.time() - started:.1f}s")
    for f in FAILURES:
        print("FAILED:", f, file=sys.stderr)
    return 1 if FAILURES or not PASSED else 0


if __name__ == "__main__":
    sys.exit(main())
