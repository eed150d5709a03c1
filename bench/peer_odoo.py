#!/usr/bin/env python3
"""The Odoo peer: the provisioning steps of the Odoo driver (src/engines/odoo/) run by an
application-side provisioner, the way a backend task would do them (sequential, standard
library HTTP client, one connection per request, check-then-create: a search before each
create), over Odoo's JSON-RPC (POST /jsonrpc), against the same simulated Odoo.

The steps, with the driver's defaults (include_demo_data off: no demo products; Odoo has
no fiscal-year document): version and authenticate; the company (currency and country
looked up, the API user given access); the chart of accounts; the Main Store and POS Store
warehouses; the company's fiscal year settings; the Walk-In Customer; the POS config (the
"Shop" the chart made is adopted, as the driver does, or a config with a Cash method made);
an opened POS session. At the end it reads the session back and fails unless it is opened.

Usage: peer_odoo.py BASE_URL DATABASE LOGIN API_KEY COMPANY
Prints the wall time in milliseconds. Any error answer, or a workspace that does not check
out at the end, ends it with a non-zero status.
"""
import json
import sys
import time
import urllib.request

WALK_IN = "Walk-In Customer"


class OdooError(Exception):
    pass


class Odoo:
    def __init__(self, base, db, login, key):
        self.url = base.rstrip("/") + "/jsonrpc"
        self.db, self.login, self.key = db, login, key
        self.uid = None
        self.version = None
        self.context = {}
        self.next_id = 0

    def rpc(self, service, method, args):
        # urllib opens a new connection for every request and closes it after the answer
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": self.next_id,
                           "params": {"service": service, "method": method, "args": args}}).encode()
        req = urllib.request.Request(self.url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.loads(resp.read())
        if "error" in answer:
            data = answer["error"].get("data") or {}
            raise OdooError(f"{service}.{method} {args[3:5] if service == 'object' else ''}: "
                            f"{data.get('name')}: {data.get('message')}")
        return answer.get("result")     # None: the method returned None

    def call(self, model, method, args, **kwargs):
        if self.context:
            kwargs = {"context": dict(self.context), **kwargs}
        return self.rpc("object", "execute_kw", [self.db, self.uid, self.key, model, method, args, kwargs])

    def begin(self):
        self.version = self.rpc("common", "version", [])["server_version_info"][0]
        self.uid = self.rpc("common", "authenticate", [self.db, self.login, self.key, {}])
        if not self.uid:
            raise OdooError(f"the login or API key was refused for database {self.db}")

    def search(self, model, domain):
        ids = self.call(model, "search", [domain], limit=1)
        return ids[0] if ids else None

    def read(self, model, rec_id, fields):
        rows = self.call(model, "read", [[rec_id]], fields=fields)
        if not rows:
            raise OdooError(f"{model} {rec_id} does not exist")
        return rows[0]

    def ensure(self, model, domain, values):
        """Check, then create: the record matching domain, made if there is none."""
        found = self.search(model, domain)
        return found if found else self.call(model, "create", [values])


def m2o(value):
    return value[0] if isinstance(value, list) and value else (value or None)


def provision(o, company):
    o.begin()

    # the company, and the API user's access to it
    currency = o.search("res.currency", [["name", "=", "USD"], "|", ["active", "=", True], ["active", "=", False]])
    if not currency:
        raise OdooError("no currency USD")
    country = o.search("res.country", [["name", "=", "United States"]])
    cid = o.ensure("res.company", [["name", "=", company]],
                   {"name": company, "currency_id": currency, **({"country_id": country} if country else {})})
    user = o.read("res.users", o.uid, ["company_ids"])
    if cid not in user["company_ids"]:
        o.call("res.users", "write", [[o.uid], {"company_ids": [[4, cid]]}])
    o.context = {"allowed_company_ids": [cid]}

    # the chart of accounts
    accounts_domain = [["company_ids", "in", [cid]]] if o.version >= 18 else [["company_id", "=", cid]]
    if o.call("account.account", "search_count", [accounts_domain]) == 0:
        if o.version >= 17:
            o.call("account.chart.template", "try_loading", [[], "generic_coa", cid], install_demo=False)
        else:
            template = o.call("ir.model.data", "search_read",
                              [[["module", "=", "l10n_generic_coa"], ["name", "=", "configurable_chart_template"]]],
                              fields=["res_id"])[0]["res_id"]
            o.call("account.chart.template", "try_loading", [[template]], install_demo=False)
        if o.call("account.account", "search_count", [accounts_domain]) == 0:
            raise OdooError(f"the chart of accounts loaded no accounts for {company}")

    # the warehouses
    partner = m2o(o.read("res.company", cid, ["partner_id"])["partner_id"])
    used = {w["code"].upper() for w in o.call("stock.warehouse", "search_read", [[["company_id", "=", cid]]],
                                              fields=["code"]) if w["code"]}
    for name, code in (("Main Store", "MAIN"), ("POS Store", "POS")):
        if o.search("stock.warehouse", [["company_id", "=", cid], ["name", "=", name]]):
            continue
        base, n = code, 2
        while code in used:
            code, n = f"{base[:4 if n < 10 else 3]}{n}", n + 1
        o.call("stock.warehouse", "create", [{"name": name, "code": code, "company_id": cid,
                                              **({"partner_id": partner} if partner else {})}])
        used.add(code)

    # the settings: the fiscal year ends on 31 December
    settings = o.call("res.company", "search_read", [[["id", "=", cid]]],
                      fields=["fiscalyear_last_day", "fiscalyear_last_month"])[0]
    if settings["fiscalyear_last_day"] != 31 or settings["fiscalyear_last_month"] != "12":
        o.call("res.company", "write", [[cid], {"fiscalyear_last_day": 31, "fiscalyear_last_month": "12"}])

    # the customer
    o.ensure("res.partner", [["name", "=", WALK_IN], ["company_id", "in", [cid, False]]],
             {"name": WALK_IN, "customer_rank": 1, "company_id": cid})

    # the POS config: the company's config made with the chart is adopted, or one is made
    profile = f"{company} POS"
    warehouse = o.search("stock.warehouse", [["company_id", "=", cid], ["name", "=", "POS Store"]])
    picking_type = m2o(o.read("stock.warehouse", warehouse, ["pos_type_id"])["pos_type_id"])
    config = o.search("pos.config", [["company_id", "=", cid], ["name", "=", profile]])
    if not config:
        shops = o.call("pos.config", "search_read", [[["company_id", "=", cid]]], fields=["name", "payment_method_ids"])
        values = {"name": profile, "company_id": cid, "warehouse_id": warehouse,
                  **({"picking_type_id": picking_type} if picking_type else {})}
        if not shops or not shops[0]["payment_method_ids"]:
            journal = o.search("account.journal", [["company_id", "=", cid], ["type", "=", "cash"]])
            if not journal:
                raise OdooError(f"company {company} has no cash journal")
            method = o.ensure("pos.payment.method", [["company_id", "=", cid], ["journal_id", "=", journal]],
                              {"name": "Cash", "journal_id": journal, "company_id": cid})
            values["payment_method_ids"] = [[6, 0, [method]]]
        if shops:
            config = shops[0]["id"]
            o.call("pos.config", "write", [[config], values])
        else:
            config = o.call("pos.config", "create", [values])

    # an opened POS session
    session_domain = [["config_id", "=", config], ["state", "!=", "closed"]]
    session = o.search("pos.session", session_domain)
    if not session:
        o.call("pos.config", "open_ui" if o.version >= 17 else "open_session_cb", [[config]])
        session = o.search("pos.session", session_domain)
        if not session:
            raise OdooError(f"opening a session of pos.config {config} made none")
    if o.read("pos.session", session, ["state"])["state"] == "opening_control":
        o.call("pos.session", "set_cashbox_pos", [[session], 0.0, "opened by the peer"])
    return cid, config, session


def check(o, company, cid, config, session):
    """The workspace is there: the session is opened on the config, in the company."""
    rec = o.read("pos.session", session, ["state", "config_id"])
    conf = o.read("pos.config", config, ["name", "company_id", "payment_method_ids"])
    problems = []
    if rec["state"] != "opened":
        problems.append(f"pos.session {session} is {rec['state']}, not opened")
    if m2o(rec["config_id"]) != config:
        problems.append(f"pos.session {session} belongs to pos.config {m2o(rec['config_id'])}, not {config}")
    if conf["name"] != f"{company} POS" or m2o(conf["company_id"]) != cid or not conf["payment_method_ids"]:
        problems.append(f"pos.config {config} is {conf}")
    if problems:
        raise OdooError("; ".join(problems))


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    base, db, login, key, company = sys.argv[1:6]
    o = Odoo(base, db, login, key)
    start = time.perf_counter()
    cid, config, session = provision(o, company)
    wall = (time.perf_counter() - start) * 1000
    check(o, company, cid, config, session)     # after the clock: the driver does not check either
    print(f"{wall:.1f}")
