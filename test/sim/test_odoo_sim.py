"""Self-test of the simulated Odoo (odoo_sim.py), over HTTP as the Odoo driver will use it:
the transport and error envelopes, the provisioning sequence of the reference's section 5 in
16, 17 and 18 (twice: the second run finds everything), the multi-company rules, the
constraints and quirks, every fault action and the control API; and the capacity both
simulated engines share (simcore.py: rate limiter, worker count, counters), for Odoo and,
in a simulated ERPNext of its own (erpnext_sim.py), for ERPNext.

Run: python3 test/sim/test_odoo_sim.py (or python3 -m unittest discover -s test/sim -p test_odoo_sim.py)
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "simsecret"


class Simulator:
    """odoo_sim.py (or another simulated engine) in a child process on free loopback ports."""

    def __init__(self, script="odoo_sim.py"):
        self.dir = tempfile.TemporaryDirectory()
        ready = os.path.join(self.dir.name, "ready.json")
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, script), "--ready-file", ready])
        deadline = time.time() + 10
        while not os.path.exists(ready):
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"the simulated engine {script} did not start")
            time.sleep(0.02)
        with open(ready) as f:
            ports = json.load(f)
        self.port, self.control_port = ports["port"], ports["control_port"]

    def stop(self):
        self.process.terminate()
        self.process.wait(5)
        self.dir.cleanup()

    def control(self, method, path, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def post(self, path, data, headers=None, timeout=5):
        """A raw POST: (status, headers, body bytes)."""
        return self.request("POST", path, data, {"Content-Type": "application/json", **(headers or {})}, timeout)

    def request(self, method, path, data=None, headers=None, timeout=5):
        """A raw request: (status, headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, data, headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def control_fails(self, method, path, body=None):
        """The HTTP status of a control request that is refused."""
        try:
            self.control(method, path, body)
        except urllib.error.HTTPError as e:
            return e.code
        return 200


SIM = None


def setUpModule():
    global SIM
    SIM = Simulator()


def tearDownModule():
    SIM.stop()


class Client:
    """A JSON-RPC client for one database, as the driver talks to Odoo."""

    def __init__(self, test, db, login="admin", key=KEY):
        self.test, self.db, self.login, self.key = test, db, login, key
        self.uid = None
        self.company = None

    def envelope(self, service, method, *args, headers=None):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 7,
                           "params": {"service": service, "method": method, "args": list(args)}})
        status, _, data = SIM.post("/jsonrpc", body.encode(), headers)
        self.test.assertEqual(status, 200)
        answer = json.loads(data)
        self.test.assertEqual((answer["jsonrpc"], answer["id"]), ("2.0", 7))
        return answer

    def authenticate(self):
        self.uid = self.envelope("common", "authenticate", self.db, self.login, self.key, {})["result"]
        return self.uid

    def execute(self, model, method, args, **kwargs):
        """The execute_kw envelope; the tenant's company goes in the context once known."""
        if self.company and "context" not in kwargs:
            kwargs["context"] = {"allowed_company_ids": [self.company]}
        return self.envelope("object", "execute_kw", self.db, self.uid, self.key, model, method, args, kwargs)

    def call(self, model, method, args, **kwargs):
        answer = self.execute(model, method, args, **kwargs)
        self.test.assertNotIn("error", answer, f"{model}.{method}: {answer.get('error')}")
        return answer.get("result")

    def fails(self, model, method, args, name, message=None, **kwargs):
        answer = self.execute(model, method, args, **kwargs)
        self.test.assertNotIn("result", answer)
        error = answer["error"]
        self.test.assertEqual((error["code"], error["message"]), (200, "Odoo Server Error"))
        self.test.assertEqual(error["data"]["name"], name, error["data"]["message"])
        self.test.assertEqual(set(error["data"]), {"name", "message", "arguments", "context", "debug"})
        if message is not None:
            self.test.assertIn(message, error["data"]["message"])
        return error["data"]

    def find_or_create(self, model, domain, values):
        found = self.call(model, "search", [domain], limit=1)
        return found[0] if found else self.call(model, "create", [values])


class Provisioner:
    """The reference's section 5 as the driver will run it: every step reads before it writes."""

    def __init__(self, client, version, company_name="Tenant A"):
        self.client, self.version, self.company_name = client, version, company_name

    def run(self):
        """The ids of what the run found or made."""
        client = self.client
        client.company = None
        client.test.assertTrue(client.authenticate())
        cid = self.company()
        self.chart(cid)
        warehouses = self.warehouses(cid)
        settings = client.call("res.config.settings", "create", [{"group_stock_multi_locations": True}])
        client.call("res.config.settings", "execute", [[settings]])
        for product in ("Demo Coffee", "Demo Tea"):
            client.find_or_create("product.template", [["name", "=", product], ["company_id", "in", [cid, False]]],
                                  {"name": product, "list_price": 2.5, "sale_ok": True, "available_in_pos": True,
                                   "type": "consu", "company_id": cid})
        customer = client.find_or_create("res.partner", [["name", "=", "Walk-In Customer"],
                                                         ["company_id", "in", [cid, False]]],
                                          {"name": "Walk-In Customer", "customer_rank": 1, "company_id": cid})
        config = self.pos_config(cid, warehouses["POS Store"])
        return {"company": cid, "customer": customer, "config": config, "session": self.session(config)}

    def company(self):
        """The company, and the API user's access to it; from here on calls carry it in the context."""
        client = self.client
        usd = client.call("res.currency", "search", [[["name", "=", "USD"]]], context={"active_test": False})[0]
        cid = client.find_or_create("res.company", [["name", "=", self.company_name]],
                                    {"name": self.company_name, "currency_id": usd})
        user = client.call("res.users", "read", [[client.uid]], fields=["company_ids"])[0]
        if cid not in user["company_ids"]:
            client.call("res.users", "write", [[client.uid], {"company_ids": [[4, cid]]}])
        client.company = cid
        return cid

    def chart(self, cid):
        client = self.client
        chart_field = "chart_template_id" if self.version == 16 else "chart_template"
        accounts = [["company_ids", "in", [cid]]] if self.version >= 18 else [["company_id", "=", cid]]
        chart = client.call("res.company", "read", [[cid]], fields=[chart_field])[0][chart_field]
        if not chart and not client.call("account.account", "search_count", [accounts]):
            if self.version == 16:
                template = client.call("ir.model.data", "search_read", [[["module", "=", "l10n_generic_coa"],
                                                                        ["name", "=", "configurable_chart_template"]]],
                                       fields=["res_id"])[0]["res_id"]
                client.call("account.chart.template", "try_loading", [[template]], install_demo=False)
            else:
                client.call("account.chart.template", "try_loading", [[], "generic_coa", cid], install_demo=False)
        client.test.assertGreater(client.call("account.account", "search_count", [accounts]), 0)

    def warehouses(self, cid):
        client = self.client
        partner = client.call("res.company", "read", [[cid]], fields=["partner_id"])[0]["partner_id"][0]
        return {name: client.find_or_create("stock.warehouse", [["company_id", "=", cid], ["name", "=", name]],
                                            {"name": name, "code": code, "company_id": cid, "partner_id": partner})
                for name, code in (("Main Store", "MAIN"), ("POS Store", "POSST"))}

    def pos_config(self, cid, warehouse):
        """Adopts the config the chart's POS localisation made ("Shop"), or makes one with Cash
        on the company's cash journal."""
        client = self.client
        store = client.call("stock.warehouse", "read", [[warehouse]], fields=["pos_type_id"])[0]
        profile = {"name": f"{self.company_name} POS", "company_id": cid, "warehouse_id": warehouse,
                   "picking_type_id": store["pos_type_id"][0]}
        configs = client.call("pos.config", "search_read", [[["company_id", "=", cid]]], fields=["name"])
        if configs:
            if configs[0]["name"] != profile["name"]:
                client.call("pos.config", "write", [[configs[0]["id"]], profile])
            return configs[0]["id"]
        cash_journal = client.call("account.journal", "search", [[["company_id", "=", cid], ["type", "=", "cash"]]],
                                   limit=1)[0]
        cash = client.find_or_create("pos.payment.method", [["company_id", "=", cid], ["journal_id", "=", cash_journal]],
                                     {"name": "Cash", "journal_id": cash_journal, "company_id": cid})
        return client.call("pos.config", "create", [{**profile, "payment_method_ids": [[6, 0, [cash]]]}])

    def session(self, config):
        """An opened session: 16 opens it with open_session_cb, 17+ with open_ui; cash control
        leaves it in opening_control until the opening cash count."""
        client = self.client
        current = client.call("pos.config", "read", [[config]], fields=["current_session_id"])[0]
        if not current["current_session_id"]:
            if self.version == 16:
                client.call("pos.config", "open_session_cb", [[config]])
            else:
                client.test.assertEqual(client.call("pos.config", "open_ui", [[config]])["type"],
                                        "ir.actions.act_url")
            current = client.call("pos.config", "read", [[config]], fields=["current_session_id"])[0]
        session = current["current_session_id"][0]
        state = client.call("pos.session", "read", [[session]], fields=["state"])[0]["state"]
        if state == "opening_control":
            client.call("pos.session", "set_cashbox_pos", [[session], 0.0, "opened by provisioner"])
        return session


class TestBase(unittest.TestCase):
    db_counter = 0

    def fresh_db(self, **reset):
        TestBase.db_counter += 1
        name = f"{self.id().rsplit('.', 1)[-1]}_{TestBase.db_counter}"
        SIM.control("POST", "/reset", {"db": name, **reset})
        return name

    def summary(self, db, company=None):
        query = f"/summary?db={db}" + (f"&company={urllib.request.quote(company)}" if company else "")
        return SIM.control("GET", query)

    def requests(self, db):
        return SIM.control("GET", f"/requests?db={db}")

    def tearDown(self):
        SIM.control("DELETE", "/faults")
        SIM.control("POST", "/latency", {"ms": 0})


class TransportTest(TestBase):
    def test_version_and_authenticate(self):
        db = self.fresh_db()
        client = Client(self, db)
        version = client.envelope("common", "version")["result"]
        self.assertEqual(version, {"server_version": "17.0", "server_version_info": [17, 0, 0, "final", 0, ""],
                                   "server_serie": "17.0", "protocol_version": 1})
        self.assertIsInstance(client.authenticate(), int)
        self.assertIs(Client(self, db, key="wrong").authenticate(), False)
        self.assertIs(Client(self, db, login="nobody").authenticate(), False)
        status, _, data = SIM.post("/web/webclient/version_info", b'{"jsonrpc":"2.0","method":"call","params":{}}')
        self.assertEqual(json.loads(data)["result"]["server_serie"], "17.0")

    def test_missing_database_is_an_error_envelope(self):
        db = self.fresh_db(drop=True)
        answer = Client(self, db).envelope("common", "authenticate", db, "admin", KEY, {})
        self.assertEqual(answer["error"]["data"]["name"], "psycopg2.OperationalError")
        self.assertIn(f'database "{db}" does not exist', answer["error"]["data"]["message"])

    def test_refusals_before_dispatch(self):
        status, headers, data = SIM.post("/jsonrpc", b"{}", {"Content-Type": "text/plain"})
        self.assertEqual(status, 400)
        self.assertIn("but '/jsonrpc' is type='json'", data.decode())
        status, _, data = SIM.post("/jsonrpc", b"{not json")
        self.assertEqual((status, data), (400, b"Invalid JSON data"))
        status, _, _ = SIM.post("/xmlrpc/2/object", b"{}")
        self.assertEqual(status, 404)
        conn = http.client.HTTPConnection("127.0.0.1", SIM.port, timeout=5)
        conn.request("GET", "/jsonrpc")
        self.assertEqual(conn.getresponse().status, 400)
        conn.close()

    def test_envelope_id_and_a_none_result(self):
        body = {"jsonrpc": "2.0", "method": "ignored", "params": {"service": "common", "method": "version",
                                                                  "args": []}}
        status, _, data = SIM.post("/jsonrpc", json.dumps(body).encode())
        self.assertEqual(json.loads(data)["id"], None)
        client = Client(self, self.fresh_db())
        client.authenticate()
        cid = client.call("res.company", "create", [{"name": "Tenant N"}])
        answer = client.execute("account.chart.template", "try_loading", [[], "generic_coa", cid],
                                context={"allowed_company_ids": [cid]})
        self.assertEqual(answer, {"jsonrpc": "2.0", "id": 7})     # neither result nor error

    def test_object_service_errors(self):
        client = Client(self, self.fresh_db())
        client.authenticate()
        client.key = "wrong"
        client.fails("res.partner", "search", [[]], "odoo.exceptions.AccessDenied", "Access Denied")
        client.key = KEY
        client.fails("res.partner", "_search", [[]], "odoo.exceptions.AccessError",
                     "Private methods (such as _search) cannot be called remotely.")
        client.fails("no.such.model", "search", [[]], "odoo.exceptions.UserError", "Object no.such.model doesn't exist")
        client.fails("res.partner", "frobnicate", [[]], "builtins.AttributeError")
        client.fails("res.partner", "search_read", [[]], "builtins.ValueError", fields=["no_such_field"])
        client.fails("res.partner", "search", [[["no_such_field", "=", 1]]], "builtins.ValueError")
        client.fails("account.chart.template", "try_loading", ["generic_coa", 1], "builtins.TypeError",
                     "try_loading() missing 1 required positional argument: 'company'")
        client.fails("account.chart.template", "try_loading", [[], "no_such_template", 1], "builtins.KeyError")


class ProvisioningTest(TestBase):
    def provision_twice(self, version):
        db = self.fresh_db()
        client = Client(self, db)
        first = Provisioner(client, version).run()
        creates = [r for r in self.requests(db) if r["model_method"] in ("create", "write", "try_loading")]
        second = Provisioner(client, version).run()
        self.assertEqual(first, second)
        again = [r for r in self.requests(db) if r["model_method"] in ("create", "write", "try_loading")]
        # the second run writes nothing but the transient settings record and its execute
        self.assertEqual([r["model"] for r in again[len(creates):]], ["res.config.settings"])
        return db, client, first

    def expected(self, version):
        return {"res.company": 1, "account.account": 26, "account.journal cash": 1,
                "account.journal": 8, "stock.warehouse": 2 if version >= 18 else 3,
                "res.partner Walk-In Customer": 1, "pos.payment.method": 3 if version <= 17 else 1,
                "pos.config": 1, "pos.session": 1, "pos.session opened": 1, "product.template": 2,
                "product.template available_in_pos": 2,
                "chart_template": ["1"] if version == 16 else ["generic_coa"]}

    def test_sequence_in_17(self):
        db, client, made = self.provision_twice(17)
        self.assertEqual(self.summary(db), self.expected(17))
        self.assertEqual(self.summary(db, "Tenant A"), self.expected(17))
        config = client.call("pos.config", "read", [[made["config"]]],
                             fields=["name", "current_session_state", "cash_control", "company_has_template"])[0]
        self.assertEqual(config, {"id": made["config"], "name": "Tenant A POS", "current_session_state": "opened",
                                  "cash_control": True, "company_has_template": True})
        log = self.requests(db)
        self.assertTrue(all(r["t_end"] >= r["t_start"] and r["status"] == 200 for r in log))
        self.assertIn("object.execute_kw pos.session set_cashbox_pos", [r["rpc"] for r in log])

    def test_sequence_in_16_and_18(self):
        for version in (16, 18):
            with self.subTest(version=version):
                SIM.control("POST", "/version", {"version": version})
                try:
                    db, client, _ = self.provision_twice(version)
                    self.assertEqual(self.summary(db), self.expected(version))
                finally:
                    SIM.control("POST", "/version", {"version": 17})

    def test_country_loads_its_chart_in_17(self):
        client = Client(self, self.fresh_db())
        client.authenticate()
        belgium = client.call("res.country", "search", [[["code", "=", "BE"]]])[0]
        eur = client.call("res.currency", "search", [[["name", "=", "EUR"]]], context={"active_test": False})[0]
        cid = client.call("res.company", "create", [{"name": "Tenant BE", "currency_id": eur, "country_id": belgium}])
        self.assertEqual(client.call("res.company", "read", [[cid]], fields=["chart_template"])[0]["chart_template"],
                         "be_comp")
        self.assertEqual(client.call("res.currency", "read", [[eur]], fields=["active"])[0]["active"], True)


class RulesTest(TestBase):
    def two_companies(self):
        client = Client(self, self.fresh_db())
        client.authenticate()
        a = client.call("res.company", "create", [{"name": "Tenant A"}])
        b = client.call("res.company", "create", [{"name": "Tenant B"}])
        return client, a, b

    def test_allowed_companies(self):
        client, a, b = self.two_companies()
        other = Client(self, client.db, login="clerk", key="clerk-key")
        SIM.control("POST", "/reset", {"db": client.db + "_u", "users": [{"login": "clerk", "api_key": "clerk-key",
                                                                          "admin": False}]})
        other.db = client.db + "_u"
        other.authenticate()
        other.fails("res.partner", "search", [[]], "odoo.exceptions.AccessError",
                    "Access to unauthorized or invalid companies.", context={"allowed_company_ids": [1, 99]})
        other.fails("res.company", "create", [{"name": "Nope"}], "odoo.exceptions.AccessError",
                    "You are not allowed to create 'Companies' (res.company) records.")
        client.company = a
        self.assertEqual(client.call("stock.warehouse", "search_count", [[]]), 1)      # only A's
        b_warehouse = client.call("stock.warehouse", "search", [[]], context={"allowed_company_ids": [b]})[0]
        client.fails("stock.warehouse", "read", [[b_warehouse]], "odoo.exceptions.AccessError", "top-secret")
        client.fails("res.partner", "create", [{"name": "X", "company_id": b}], "odoo.exceptions.AccessError",
                     "doesn't have 'create' access")
        self.assertEqual(client.call("res.partner", "search_count", [[["name", "=", "X"]]],
                                     context={"allowed_company_ids": [a, b]}), 0)   # rolled back
        client.fails("stock.warehouse", "create", [{"name": "W", "code": "W", "company_id": a,
                                                    "partner_id": client.call("res.company", "read", [[b]],
                                                                              fields=["partner_id"])[0]
                                                    ["partner_id"][0]}],
                     "odoo.exceptions.UserError", "Incompatible companies on records",
                     context={"allowed_company_ids": [a, b]})

    def test_account_company_field_by_version(self):
        client, a, _ = self.two_companies()
        client.company = a
        client.fails("account.account", "search_count", [[["company_ids", "in", [a]]]], "builtins.ValueError")
        self.assertEqual(list(client.call("account.account", "fields_get", [["company_id", "company_ids"]],
                                          attributes=["type"])), ["company_id"])
        self.assertEqual(client.call("account.account", "search_count", [[]]), 0)


class ConstraintsTest(TestBase):
    def tenant(self):
        client = Client(self, self.fresh_db())
        client.authenticate()
        client.company = client.call("res.company", "create", [{"name": "Tenant C"}])
        return client

    def test_warehouse_codes(self):
        client = self.tenant()
        wh = client.call("stock.warehouse", "create", [{"name": "Main Store", "code": "MAINSTORE",
                                                        "company_id": client.company}])
        self.assertEqual(client.call("stock.warehouse", "read", [[wh]], fields=["code"])[0]["code"], "MAINS")
        client.fails("stock.warehouse", "create", [{"name": "Main Stores", "code": "MAINSX", "company_id": client.company}],
                     "odoo.exceptions.ValidationError",
                     "The operation cannot be completed: The short name of the warehouse must be unique per company!")
        client.fails("stock.warehouse", "create", [{"name": "No Code", "company_id": client.company}],
                     "odoo.exceptions.ValidationError", "a mandatory field is not set")

    def test_quirks(self):
        client = self.tenant()
        ids = client.call("res.partner", "create", [[{"name": "Walk-In Customer", "favourite": "blue"},
                                                     {"name": "Walk-In Customer"}]])
        self.assertEqual(len(ids), 2)       # no uniqueness: read before you write
        self.assertIn("res.partner.create() includes unknown fields: favourite", self.requests(client.db)[-1]["warnings"])
        record = client.call("res.partner", "read", [ids[:1]], fields=["email", "company_id"])[0]
        self.assertEqual(record, {"id": ids[0], "email": False, "company_id": False})    # shared: no default
        client.fails("res.partner", "create", [[{"name": "Fine"}, {"type": "contact"}]],
                     "odoo.exceptions.ValidationError", "Contacts require a name")
        self.assertEqual(client.call("res.partner", "search_count", [[["name", "=", "Fine"]]]), 0)

    def test_pos_rules(self):
        client = self.tenant()
        client.call("account.chart.template", "try_loading", [[], "generic_coa", client.company])
        shop = client.call("pos.config", "search_read", [[]], fields=["name", "payment_method_ids"])
        self.assertEqual([c["name"] for c in shop], ["Shop"])
        cash = [m["id"] for m in client.call("pos.payment.method", "search_read", [[]], fields=["is_cash_count"])
                if m["is_cash_count"]]
        client.fails("pos.config", "create", [{"name": "Second", "payment_method_ids": [[6, 0, cash]]}],
                     "odoo.exceptions.ValidationError", "This cash payment method is already used")
        config = shop[0]["id"]
        client.call("pos.config", "open_ui", [[config]])
        client.fails("pos.session", "create", [{"config_id": config}], "odoo.exceptions.ValidationError",
                     "Another session is already opened for this point of sale.")
        client.fails("pos.config", "write", [[config], {"payment_method_ids": [[5]]}], "odoo.exceptions.UserError",
                     "while a session is open")
        # a new chart drops the company's payment methods
        client.call("account.chart.template", "try_loading", [[], "fr", client.company])
        self.assertEqual(client.call("pos.payment.method", "search_count", [[["id", "in", cash]]]), 0)

    def test_settings_load_a_chart(self):
        client = self.tenant()
        settings = client.call("res.config.settings", "create", [{"chart_template": "generic_coa",
                                                                  "fiscalyear_last_month": "6"}])
        self.assertEqual(client.call("res.config.settings", "execute", [[settings]])["type"], "ir.actions.client")
        company = client.call("res.company", "read", [[client.company]],
                              fields=["chart_template", "fiscalyear_last_month"])[0]
        self.assertEqual((company["chart_template"], company["fiscalyear_last_month"]), ("generic_coa", "6"))
        self.assertEqual(client.call("account.journal", "search_count", [[["type", "=", "cash"]]]), 1)

    def test_16_loads_a_chart_once(self):
        SIM.control("POST", "/version", {"version": 16})
        try:
            client = self.tenant()
            template = client.call("ir.model.data", "search_read", [[["name", "=", "configurable_chart_template"]]],
                                   fields=["res_id"])[0]["res_id"]
            client.fails("account.chart.template", "try_loading", [[template], client.company], "builtins.AttributeError")
            for _ in range(2):      # the second call finds a chart and silently does nothing
                self.assertIsNone(client.call("account.chart.template", "try_loading", [[template]]))
            self.assertEqual(client.call("account.account", "search_count", [[["company_id", "=", client.company]]]),
                             26)
        finally:
            SIM.control("POST", "/version", {"version": 17})

    def test_product_types_by_version(self):
        client = self.tenant()
        client.call("product.template", "create", [{"name": "Stored", "type": "product"}])
        SIM.control("POST", "/version", {"version": 18})
        try:
            client = self.tenant()
            client.fails("product.template", "create", [{"name": "Stored", "type": "product"}], "builtins.ValueError",
                         "Wrong value for product.template.type: 'product'")
            client.fails("pos.config", "create", [{"name": "No warehouse"}], "odoo.exceptions.RedirectWarning",
                         "Please create a warehouse for company Tenant C.")
            client.call("stock.warehouse", "create", [{"name": "Main Store", "code": "MAIN"}])
            client.fails("pos.config", "create", [{"name": "No chart"}], "odoo.exceptions.UserError",
                         "Ensure that there is an existing bank journal.")
            client.call("account.chart.template", "try_loading", [[], "generic_coa", client.company])
            config = client.call("pos.config", "create", [{"name": "Defaults"}])
            methods = client.call("pos.config", "read", [[config]], fields=["payment_method_ids", "journal_id"])[0]
            self.assertEqual(methods["journal_id"][1], "Point of Sale")
            self.assertEqual([(m["name"], m["journal_id"] and m["journal_id"][1]) for m in client.call(
                "pos.payment.method", "read", [methods["payment_method_ids"]], fields=["name", "journal_id"])],
                [("Cash", "Cash"), ("Card", "Bank"), ("Customer Account", False)])
            # the chart's "Shop" took the first cash journal: one cash method per journal in 18
            self.assertEqual(client.call("account.journal", "search_count", [[["type", "=", "cash"]]]), 2)
        finally:
            SIM.control("POST", "/version", {"version": 17})


class FaultTest(TestBase):
    def tenant(self):
        client = Client(self, self.fresh_db())
        client.authenticate()
        return client

    def fault(self, **rule):
        return SIM.control("POST", "/faults", rule)["id"]

    def test_error_envelope_then_normal(self):
        client = self.tenant()
        self.fault(db=client.db, method="object.execute_kw res.partner create", action="error",
                   name="odoo.exceptions.ValidationError", message="Injected validation")
        client.fails("res.partner", "create", [{"name": "P"}], "odoo.exceptions.ValidationError", "Injected validation")
        client.call("res.partner", "create", [{"name": "P"}])
        self.assertEqual(client.call("res.partner", "search_count", [[["name", "=", "P"]]]), 1)
        log = self.requests(client.db)
        self.assertEqual([(r["fault"], r["error"]) for r in log[-3:-1]],
                         [("error", "odoo.exceptions.ValidationError"), (None, None)])

    def test_http_status_with_retry_after(self):
        client = self.tenant()
        self.fault(db=client.db, pattern=r"res\.partner (search|create)$", action="status", status=503,
                   retry_after=2, times=2)
        body = json.dumps({"jsonrpc": "2.0", "params": {"service": "object", "method": "execute_kw", "args": [
            client.db, client.uid, KEY, "res.partner", "search", [[]], {}]}}).encode()
        for _ in range(2):
            status, headers, _ = SIM.post("/jsonrpc", body)
            self.assertEqual((status, headers.get("Retry-After")), (503, "2"))
        self.assertEqual(SIM.post("/jsonrpc", body)[0], 200)

    def test_delay_timeout_and_reset(self):
        client = self.tenant()
        self.fault(db=client.db, method="common.authenticate", action="delay", delay_ms=300)
        started = time.time()
        self.assertTrue(client.authenticate())
        self.assertGreaterEqual(time.time() - started, 0.3)
        self.fault(db=client.db, method="common.authenticate", action="reset")
        with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
            client.authenticate()
        self.fault(db=client.db, method="common.authenticate", action="timeout", delay_ms=1500)
        with self.assertRaises((socket.timeout, TimeoutError)):
            SIM.post("/jsonrpc", json.dumps({"params": {"service": "common", "method": "authenticate",
                                                        "args": [client.db, "admin", KEY, {}]}}).encode(), timeout=0.5)
        faults = [r["fault"] for r in self.requests(client.db)]
        self.assertEqual(faults[-3:], ["delay", "reset", "timeout"])

    def test_drop_after_commit(self):
        client = self.tenant()
        self.fault(db=client.db, method="object.execute_kw res.company create", action="drop_after_commit")
        with self.assertRaises(http.client.RemoteDisconnected):
            client.call("res.company", "create", [{"name": "Lost Answer"}])
        self.assertEqual(client.call("res.company", "search_count", [[["name", "=", "Lost Answer"]]]), 1)

    def test_noop_changes_nothing(self):
        client = self.tenant()
        cid = client.call("res.company", "create", [{"name": "Tenant Z"}])
        self.fault(db=client.db, method="object.execute_kw account.chart.template try_loading", action="noop")
        answer = client.execute("account.chart.template", "try_loading", [[], "generic_coa", cid])
        self.assertEqual(answer, {"jsonrpc": "2.0", "id": 7})
        client.company = cid
        self.assertEqual(client.call("account.account", "search_count", [[]]), 0)

    def test_malformed_once_per_request(self):
        self.assertTrue({"nulls", "records", "error_200", "deep", "truncated", "html", "empty", "huge",
                         "not_utf8"} <= set(SIM.control("GET", "/malformed")))
        applied, instead = self.tenant(), self.tenant()
        for client, answer, mode in ((applied, "nulls", "applied"), (instead, "truncated", "instead")):
            self.fault(db=client.db, action="malformed", answer=answer, mode=mode, once_per_request=True, times=-1)

        def raw(client, method, args):
            body = {"jsonrpc": "2.0", "id": 7, "params": {"service": "object", "method": "execute_kw", "args": [
                client.db, client.uid, KEY, "res.partner", method, args, {}]}}
            status, _, data = SIM.post("/jsonrpc", json.dumps(body).encode())
            self.assertEqual(status, 200)
            return data

        # each distinct call is answered once with the corpus answer, then as the engine would
        self.assertEqual(json.loads(raw(applied, "create", [{"name": "P"}])),
                         {"jsonrpc": "2.0", "id": 7, "result": [None, None]})
        count = [[["name", "=", "P"]]]
        self.assertEqual(json.loads(raw(applied, "search_count", count))["result"], [None, None])
        self.assertEqual(json.loads(raw(applied, "search_count", count))["result"], 1)     # applied
        with self.assertRaises(ValueError):
            json.loads(raw(instead, "create", [{"name": "P"}]))
        with self.assertRaises(ValueError):
            json.loads(raw(instead, "search_count", count))
        self.assertEqual(json.loads(raw(instead, "search_count", count))["result"], 0)     # not applied
        self.assertEqual([r["answered"] for r in SIM.control("GET", "/faults")], [2, 2])

    def test_offline_and_latency(self):
        client = self.tenant()
        SIM.control("POST", "/offline", {"offline": True})
        try:
            with self.assertRaises(ConnectionRefusedError):
                client.authenticate()
        finally:
            SIM.control("POST", "/offline", {"offline": False})
        SIM.control("POST", "/latency", {"ms": 200})
        started = time.time()
        self.assertTrue(client.authenticate())
        self.assertGreaterEqual(time.time() - started, 0.2)

    def test_probability_db_scope_and_listing(self):
        client = self.tenant()
        elsewhere = self.fault(db=self.fresh_db(), action="error", times=-1)
        self.assertTrue(client.authenticate())          # another database's rule
        coin = self.fault(method="common.version", action="status", status=500, probability=0.5, seed=3, times=-1)
        version = json.dumps({"params": {"service": "common", "method": "version", "args": []}}).encode()
        statuses = [SIM.post("/jsonrpc", version)[0] for _ in range(20)]
        self.assertEqual(set(statuses), {200, 500})
        self.assertEqual([(r["id"], r["times"]) for r in SIM.control("GET", "/faults")], [(elsewhere, -1), (coin, -1)])

    def test_request_log(self):
        client = self.tenant()
        client.envelope("common", "version", headers={"X-Correlation-ID": "c0ffee"})
        client.call("res.partner", "search", [[]])
        entry = self.requests(client.db)[-1]
        self.assertEqual({k: entry[k] for k in ("http_method", "path", "db", "service", "method", "model",
                                                "model_method", "rpc", "id", "fault", "status", "error")},
                         {"http_method": "POST", "path": "/jsonrpc", "db": client.db, "service": "object",
                          "method": "execute_kw", "model": "res.partner", "model_method": "search",
                          "rpc": "object.execute_kw res.partner search", "id": 7, "fault": None, "status": 200,
                          "error": None})
        version = [r for r in SIM.control("GET", "/requests") if r["correlation_id"] == "c0ffee"]
        self.assertEqual([r["rpc"] for r in version], ["common.version"])


class ControlTest(TestBase):
    def test_reset_seeds_users_and_drops(self):
        db = self.fresh_db(users=[{"login": "bot@example.com", "api_key": "bot-key"}])
        self.assertIs(Client(self, db).authenticate(), False)       # only the seeded users
        self.assertIsInstance(Client(self, db, "bot@example.com", "bot-key").authenticate(), int)
        records = SIM.control("GET", f"/records?db={db}&model=res.users&domain=" +
                              urllib.request.quote('[["login", "=", "bot@example.com"]]'))
        self.assertEqual([r["login"] for r in records], ["bot@example.com"])
        SIM.control("POST", "/reset", {"db": db, "drop": True})
        self.assertIn("error", Client(self, db).envelope("common", "authenticate", db, "admin", KEY, {}))
        self.assertEqual(SIM.control("GET", "/version"), {"version": 17})


# ------------------------------------------------------------------------------ capacity

def at_once(calls, stagger=0.02):
    """Runs the calls each in a thread of its own, started stagger seconds apart (so that
    they arrive in order); their results in that order."""
    results = [None] * len(calls)

    def run(i):
        results[i] = calls[i]()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
        time.sleep(stagger)
    for t in threads:
        t.join(30)
    return results


def most_at_once(entries):
    """The most requests of the log entries that held a worker at the same time."""
    edges = sorted([(e["t_worker"], 1) for e in entries] + [(e["t_answered"], -1) for e in entries])
    most = now = 0
    for _, step in edges:
        now += step
        most = max(most, now)
    return most


def adds_up(test, counters):
    test.assertEqual(counters["arrived"], counters["refused"] + counters["served"] + counters["in_flight"], counters)


ZEROS = {"arrived": 0, "refused": 0, "served": 0, "in_flight": 0, "peak_in_flight": 0, "processing": 0,
         "peak_processing": 0, "waiting": 0, "peak_waiting": 0, "limits": {}}


class OdooCapacityTest(TestBase):
    """The proxy in front of Odoo: its rate limiter refuses before any worker; Odoo's workers."""

    def tenant(self):
        client = Client(self, self.fresh_db())
        client.authenticate()
        return client

    def create_partner(self, client, name):
        body = {"jsonrpc": "2.0", "id": 7, "params": {"service": "object", "method": "execute_kw", "args": [
            client.db, client.uid, KEY, "res.partner", "create", [{"name": name}], {}]}}
        return SIM.post("/jsonrpc", json.dumps(body).encode())

    def capacity(self, db=None):
        return SIM.control("GET", "/capacity" + (f"?db={db}" if db else ""))

    def test_rate_limit_refuses_with_retry_after(self):
        client = self.tenant()
        self.assertEqual(SIM.control("POST", "/limits", {"db": client.db, "requests_per_second": 2, "burst": 2}),
                         {"db": client.db, "limits": {"requests_per_second": 2, "burst": 2}})
        # a refused request meets no fault rule: this one waits for the first request let through
        SIM.control("POST", "/faults", {"db": client.db, "method": "object.execute_kw res.partner create",
                                        "action": "error", "message": "Injected"})
        answers = [self.create_partner(client, f"P{i}") for i in range(4)]
        self.assertEqual([a[0] for a in answers], [200, 200, 429, 429])
        self.assertIn("error", json.loads(answers[0][2]))
        status, headers, body = answers[2]
        self.assertEqual((headers["Retry-After"], headers["Server"], headers["Content-Type"]), ("1", "nginx", "text/html"))
        self.assertIn(b"<title>429 Too Many Requests</title>", body)
        self.assertNotIn("X-RateLimit-Limit", answers[1][1])     # nginx sends none
        log = self.requests(client.db)[-4:]
        self.assertEqual([(r["refused"], r["status"], r["fault"]) for r in log],
                         [(False, 200, "error"), (False, 200, None), (True, 429, None), (True, 429, None)])
        self.assertEqual([r["t_worker"] is None for r in log], [False, False, True, True])   # never had a worker
        self.assertTrue(all(r["t_start"] <= r["t_answered"] <= r["t_end"] for r in log))
        counters = self.capacity(client.db)
        self.assertEqual((counters["arrived"], counters["refused"], counters["served"]), (5, 2, 3))  # + authenticate
        adds_up(self, counters)
        # the bucket refills at requests_per_second: one token back after half a second
        time.sleep(0.6)
        self.assertEqual(self.create_partner(client, "P4")[0], 200)
        # 503 (limit_req's default) with a fixed Retry-After
        SIM.control("POST", "/limits", {"db": client.db, "requests_per_second": 1, "status": 503, "retry_after": 7})
        self.assertEqual(self.create_partner(client, "P5")[0], 200)
        status, headers, body = self.create_partner(client, "P6")
        self.assertEqual((status, headers["Retry-After"]), (503, "7"))
        self.assertIn(b"503 Service Temporarily Unavailable", body)
        # refused requests were not applied
        SIM.control("POST", "/limits", {"db": client.db})
        self.assertEqual(sorted(p["name"] for p in SIM.control("GET", f"/records?db={client.db}&model=res.partner")
                                if p["name"].startswith("P")), ["P1", "P4", "P5"])

    def test_bad_limits_are_refused(self):
        for body in ({"workers": 0}, {"requests_per_second": -1}, {"burst": 3}, {"workers": 1.5},
                     {"requests_per_second": 1, "status": 404}, {"requests_per_second": "5"}):
            self.assertEqual(SIM.control_fails("POST", "/limits", body), 400, body)
        self.assertEqual(SIM.control("GET", "/limits"), {})

    def test_workers_queue_in_arrival_order(self):
        client = self.tenant()
        SIM.control("POST", "/limits", {"db": client.db, "workers": 2})
        SIM.control("POST", "/faults", {"db": client.db, "method": "object.execute_kw res.partner create",
                                        "action": "delay", "delay_ms": 300, "times": -1})
        started = time.time()
        answers = at_once([lambda i=i: self.create_partner(client, f"W{i}") for i in range(6)])
        self.assertEqual([a[0] for a in answers], [200] * 6)
        self.assertGreaterEqual(time.time() - started, 0.9)         # three rounds of two
        log = [r for r in self.requests(client.db) if r["model"] == "res.partner"]
        self.assertEqual(most_at_once(log), 2)
        # in arrival order: each got its worker after every one that came before
        by_worker = sorted(log, key=lambda r: r["t_worker"])
        self.assertEqual([r["seq"] for r in by_worker], sorted(r["seq"] for r in log))
        # the latency and faults are served while the worker is held
        self.assertTrue(all(r["t_answered"] - r["t_worker"] >= 0.29 for r in log))
        self.assertGreaterEqual(max(r["t_worker"] - r["t_start"] for r in log), 0.5)   # the last ones waited
        counters = self.capacity(client.db)
        self.assertEqual({k: counters[k] for k in ("served", "refused", "in_flight", "processing", "waiting",
                                                    "peak_processing")},
                         {"served": 7, "refused": 0, "in_flight": 0, "processing": 0, "waiting": 0,
                          "peak_processing": 2})
        self.assertGreaterEqual(counters["peak_in_flight"], 5)
        self.assertGreaterEqual(counters["peak_waiting"], 3)
        adds_up(self, counters)
        # a reset of the database clears its limits and counters
        SIM.control("POST", "/reset", {"db": client.db})
        self.assertEqual(self.capacity(client.db), {"db": client.db, **ZEROS})

    def test_engine_wide_limits_and_global_reset(self):
        # the engine's counters count every test's requests, some still held (a timeout fault's)
        deadline = time.time() + 10
        while self.capacity()["in_flight"] and time.time() < deadline:
            time.sleep(0.05)
        SIM.control("POST", "/reset", {})
        first, second = self.tenant(), self.tenant()
        SIM.control("POST", "/limits", {"workers": 1})
        try:
            for client in (first, second):
                SIM.control("POST", "/faults", {"db": client.db, "method": "object.execute_kw res.partner create",
                                                "action": "delay", "delay_ms": 200, "times": -1})
            answers = at_once([lambda c=c: self.create_partner(c, "E") for c in (first, second, first, second)])
            self.assertEqual([a[0] for a in answers], [200] * 4)
            log = [r for r in SIM.control("GET", "/requests") if r["model"] == "res.partner"]
            self.assertEqual(most_at_once(log), 1)        # one worker for both databases
            self.assertEqual(SIM.control("GET", "/limits"), {"*": {"workers": 1}})
            self.assertEqual(self.capacity()["peak_processing"], 1)
            adds_up(self, self.capacity())
        finally:
            SIM.control("POST", "/reset", {})
        self.assertEqual(self.capacity(), {"db": None, **ZEROS})
        self.assertEqual(SIM.control("GET", "/limits"), {})


class ErpnextCapacityTest(unittest.TestCase):
    """The simulated ERPNext, in a process of its own: Frappe's rate limiter in the worker."""

    AUTH = {"Authorization": f"token simkey:{KEY}", "Accept": "application/json"}

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("erpnext_sim.py")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def tearDown(self):
        self.sim.control("POST", "/reset", {})

    def insert(self, site, name, accept="application/json"):
        body = json.dumps({"customer_name": name, "customer_group": "Individual", "territory": "United States"})
        return self.sim.request("POST", "/api/resource/Customer", body.encode(),
                                {**self.AUTH, "Accept": accept, "Host": site, "Content-Type": "application/json"})

    def count(self, site, doctype="Customer"):
        return self.sim.control("GET", f"/count?site={site}&doctype={urllib.request.quote(doctype)}")["count"]

    def test_no_limit_answers_as_before(self):
        status, headers, body = self.insert("plain.localhost", "Plain")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(headers), ["Content-Length", "Content-Type", "Date", "Server"])

    def test_rate_limit_refuses_with_429(self):
        site = "rate.localhost"
        self.sim.control("POST", "/limits", {"site": "Rate.localhost:8000", "requests_per_second": 1, "burst": 2})
        answers = [self.insert(site, f"C{i}") for i in range(3)]
        self.assertEqual([a[0] for a in answers], [200, 200, 429])
        self.assertEqual([(a[1]["X-RateLimit-Limit"], a[1]["X-RateLimit-Remaining"]) for a in answers],
                         [("2", "1"), ("2", "0"), ("2", "0")])
        status, headers, body = answers[2]
        self.assertEqual((json.loads(body), headers["Retry-After"], headers["Content-Type"]),
                         ({"exc_type": "TooManyRequestsError"}, "1", "application/json"))
        # a request that does not ask for JSON gets Frappe's plain answer
        status, headers, body = self.insert(site, "C3", accept="text/html")
        self.assertEqual((status, body, headers["Content-Type"]), (429, b"Too Many Requests", "text/plain; charset=utf-8"))
        self.assertEqual(self.count(site), 2)           # refused ones not applied
        log = self.sim.control("GET", f"/requests?site={site}")
        self.assertEqual([(r["refused"], r["status"]) for r in log],
                         [(False, 200), (False, 200), (True, 429), (True, 429)])
        self.assertTrue(all(r["t_start"] <= r["t_worker"] <= r["t_answered"] <= r["t_end"] for r in log))
        counters = self.sim.control("GET", f"/capacity?site={site}")
        self.assertEqual((counters["site"], counters["arrived"], counters["refused"], counters["served"]),
                         (site, 4, 2, 2))
        adds_up(self, counters)
        self.assertEqual(self.sim.control("GET", "/capacity")["refused"], 2)     # the engine's, all sites
        # another site is not limited
        self.assertEqual(self.insert("other.localhost", "C")[0], 200)
        self.sim.control("POST", "/reset", {"site": site})
        self.assertEqual(self.sim.control("GET", f"/capacity?site={site}"), {"site": site, **ZEROS})
        self.assertEqual(self.insert(site, "C4")[0], 200)

    def test_workers(self):
        site = "workers.localhost"
        self.sim.control("POST", "/limits", {"site": site, "workers": 1})
        self.sim.control("POST", "/latency", {"ms": 150})
        try:
            answers = at_once([lambda i=i: self.insert(site, f"W{i}") for i in range(4)])
        finally:
            self.sim.control("POST", "/latency", {"ms": 0})
        self.assertEqual([a[0] for a in answers], [200] * 4)
        log = self.sim.control("GET", f"/requests?site={site}")
        self.assertEqual(most_at_once(log), 1)
        self.assertEqual([r["seq"] for r in sorted(log, key=lambda r: r["t_worker"])], [r["seq"] for r in log])
        counters = self.sim.control("GET", f"/capacity?site={site}")
        self.assertEqual((counters["served"], counters["peak_processing"]), (4, 1))
        self.assertGreaterEqual(counters["peak_in_flight"], 3)
        adds_up(self, counters)
        self.assertEqual(self.count(site), 4)


class OdooPosTest(TestBase):
    """The simulated Odoo's point of sale for issue 20 (odoo_pos.py): orders and their lines read
    page by page, closing a session in 16, 17 and 18 and its refusals, archiving, and the sales
    made by the control API."""

    def provisioned(self, version):
        SIM.control("POST", "/version", {"version": version})
        self.addCleanup(SIM.control, "POST", "/version", {"version": 17})
        db = self.fresh_db()
        client = Client(self, db)
        return db, client, Provisioner(client, version).run()

    def sales(self, db, count, **extra):
        return SIM.control("POST", "/pos-sales", {"db": db, "company": "Tenant A", "count": count, "seed": 2, **extra})

    def state(self, client, session):
        return client.call("pos.session", "read", [[session]], fields=["state"])[0]["state"]

    def test_orders_page_by_page(self):
        db, client, made = self.provisioned(17)
        sales = self.sales(db, 25)
        self.assertEqual((sales["count"], sales["session_id"], sales["config_id"], sales["company_id"]),
                         (25, made["session"], made["config"], made["company"]))
        domain = [[["company_id", "=", made["company"]]]]
        self.assertEqual(client.call("pos.order", "search_count", domain), 25)
        pages = [client.call("pos.order", "search_read", domain, fields=["name", "lines", "amount_total", "state",
                                                                         "session_id", "config_id"],
                             offset=offset, limit=10, order="id asc") for offset in (0, 10, 20)]
        self.assertEqual([len(p) for p in pages], [10, 10, 5])
        orders = [o for p in pages for o in p]
        self.assertEqual([o["id"] for o in orders], sales["order_ids"])
        self.assertEqual({(o["state"], o["session_id"][0], o["config_id"][0]) for o in orders},
                         {("paid", made["session"], made["config"])})
        # the default order is the model's: date_order desc, name desc, id desc
        self.assertEqual(client.call("pos.order", "search", domain, limit=3), sales["order_ids"][::-1][:3])
        lines = client.call("pos.order.line", "search_read", [[["order_id", "in", sales["order_ids"]]]],
                            fields=["order_id", "product_id", "qty", "price_unit", "price_subtotal"], order="id asc")
        self.assertEqual(sorted(line["id"] for line in lines), sorted(i for o in orders for i in o["lines"]))
        for order in orders:
            mine = [line for line in lines if line["order_id"][0] == order["id"]]
            self.assertTrue(1 <= len(mine) <= 3)
            self.assertAlmostEqual(order["amount_total"], sum(line["price_subtotal"] for line in mine))
        payments = client.call("pos.payment", "search_read", [[["pos_order_id", "in", sales["order_ids"]]]],
                               fields=["amount", "payment_method_id"])
        self.assertEqual(len(payments), 25)
        # other companies' orders are not seen
        client.fails("pos.order", "read", [[sales["order_ids"][0]]], "odoo.exceptions.AccessError",
                     context={"allowed_company_ids": [1]})
        self.assertEqual(client.call("pos.order", "search_count", [[]], context={"allowed_company_ids": [1]}), 0)

    def test_closing_in_each_version(self):
        for version in (16, 17, 18):
            with self.subTest(version=version):
                db, client, made = self.provisioned(version)
                session = made["session"]
                self.sales(db, 3)
                draft = self.sales(db, 1, state="draft")["order_ids"]
                data = client.call("pos.session", "get_closing_control_data", [[session]])
                others = "non_cash_payment_methods" if version >= 18 else "other_payment_methods"
                self.assertIn(others, data)
                self.assertEqual(data["orders_details"]["quantity"], 4)
                expected = data["default_cash_details"]["amount"]
                # draft orders block closing
                failure = client.call("pos.session", "close_session_from_ui", [[session], []])
                self.assertEqual((failure["successful"], failure["message"], failure["redirect"]),
                                 (False, "You cannot close the POS when orders are still in draft", False))
                self.assertEqual(failure.get("open_order_ids"), draft if version >= 18 else None)
                client.fails("pos.session", "action_pos_session_closing_control", [[session]],
                             "odoo.exceptions.UserError", "You cannot close the POS when orders are still in draft")
                client.fails("pos.session", "action_pos_session_validate", [[session]], "odoo.exceptions.UserError",
                             "Pay or cancel the following orders to validate the session:\nTenant A POS/0004")
                SIM.control("POST", "/reset", {"db": db})   # start again without the draft
                db, client, made = self.provisioned(version)
                session = made["session"]
                self.sales(db, 3)
                expected = client.call("pos.session", "get_closing_control_data",
                                       [[session]])["default_cash_details"]["amount"]
                # the UI's order: count the cash, closing_control, close
                self.assertEqual(client.call("pos.session", "post_closing_cash_details", [[session]],
                                             counted_cash=expected), {"successful": True})
                self.assertEqual(client.call("pos.session", "read", [[session]],
                                             fields=["cash_register_difference"])[0]["cash_register_difference"], 0)
                self.assertIsNone(client.call("pos.session", "update_closing_control_state_session",
                                              [[session], "closed by provisioner"]))
                self.assertEqual(self.state(client, session), "closing_control")
                self.assertEqual(client.call("pos.session", "close_session_from_ui", [[session], []]),
                                 {"successful": True})
                self.assertEqual(self.state(client, session), "closed")
                orders = client.call("pos.order", "search_read", [[["session_id", "=", session]]], fields=["state"])
                self.assertEqual({o["state"] for o in orders}, {"done"})
                # already closed
                again = client.call("pos.session", "close_session_from_ui", [[session], []])
                self.assertEqual((again["successful"], again["redirect"]), (False, True))
                if version == 16:
                    self.assertEqual(again["message"], "This session is already closed.")
                else:
                    self.assertEqual((again["type"], again["title"]), ("alert", "Session already closed"))
                for method in ("action_pos_session_closing_control", "update_closing_control_state_session"):
                    client.fails("pos.session", method, [[session]] + ([None] if "update" in method else []),
                                 "odoo.exceptions.UserError", "This session is already closed.")
                client.fails("pos.session", "action_pos_session_validate", [[session]], "odoo.exceptions.UserError",
                             "This session is already closed.")
                # no sales once closed; a new session opens
                self.assertEqual(SIM.control_fails("POST", "/pos-sales", {"db": db, "company": "Tenant A",
                                                                          "count": 1}), 409)
                client.call("pos.session", "create", [{"config_id": made["config"]}])

    def test_closing_refusals(self):
        db, client, made = self.provisioned(17)
        session = made["session"]
        self.sales(db, 2)
        client.fails("pos.session", "close_session_from_ui", [[session, session + 1000]], "odoo.exceptions.MissingError")
        cash = client.call("pos.session", "read", [[session]], fields=["cash_journal_id"])[0]["cash_journal_id"][0]
        client.call("account.journal", "write", [[cash], {"loss_account_id": False}])
        # nothing counted: the whole cash is a loss, and the cash journal has no loss account
        client.fails("pos.session", "action_pos_session_closing_control", [[session]], "odoo.exceptions.UserError",
                     "define a Loss Account")
        self.assertEqual(self.state(client, session), "opened")          # rolled back
        bank = client.call("pos.payment.method", "search_read", [[["company_id", "=", made["company"]],
                                                                   ["name", "=", "Bank"]]], fields=["journal_id"])
        client.call("account.journal", "write", [[bank[0]["journal_id"][0]], {"loss_account_id": False}])
        failure = client.call("pos.session", "close_session_from_ui", [[session], [[bank[0]["id"], -5.0]]])
        self.assertEqual(failure, {"successful": False, "redirect": False, "message": "Need loss account for the "
                                   "following journals to post the lost amount: Bank\n"})
        # with the cash counted as expected there is no difference to post
        client.call("pos.session", "post_closing_cash_details", [[session]],
                    counted_cash=client.call("pos.session", "read", [[session]],
                                             fields=["cash_register_balance_end"])[0]["cash_register_balance_end"])
        self.assertIs(client.call("pos.session", "action_pos_session_closing_control", [[session]]), True)

    def test_archiving(self):
        db, client, made = self.provisioned(17)
        cid, config = made["company"], made["config"]
        # a pos.config with an open session can be archived (no such check in Odoo): write or action_archive
        client.call("pos.config", "write", [[config], {"active": False}])
        self.assertEqual(client.call("pos.config", "search", [[["company_id", "=", cid]]]), [])
        self.assertEqual(client.call("pos.config", "search_count", [[["company_id", "=", cid]]],
                                     context={"allowed_company_ids": [cid], "active_test": False}), 1)
        self.assertEqual(client.execute("pos.config", "action_unarchive", [[config]])["id"], 7)   # None: no result
        self.assertEqual(client.call("pos.config", "search", [[["company_id", "=", cid]]]), [config])
        self.assertNotIn("result", client.execute("pos.config", "action_archive", [[config]]))
        self.assertEqual(client.call("pos.config", "search", [[["company_id", "=", cid]]]), [])
        # a warehouse with ongoing operations cannot be archived
        warehouse = client.call("stock.warehouse", "search_read", [[["company_id", "=", cid]]],
                                fields=["pos_type_id", "name"], order="id asc")[0]
        move = client.call("stock.move", "create", [{"name": "ongoing", "picking_type_id": warehouse["pos_type_id"][0],
                                                     "state": "assigned", "company_id": cid}])
        client.fails("stock.warehouse", "write", [[warehouse["id"]], {"active": False}], "odoo.exceptions.UserError",
                     f"You still have ongoing operations for picking types PoS Orders in warehouse {warehouse['name']}")
        client.call("stock.move", "write", [[move], {"state": "done"}])
        client.call("stock.warehouse", "write", [[warehouse["id"]], {"active": False}])
        self.assertEqual(client.call("stock.picking.type", "search_count", [[["warehouse_id", "=", warehouse["id"]]]]),
                         0)
        # a company that is a user's default company cannot be archived
        client.call("res.users", "write", [[client.uid], {"company_id": cid}])
        client.fails("res.company", "write", [[cid], {"active": False}], "odoo.exceptions.ValidationError",
                     "The company Tenant A cannot be archived because it is still used as the default company of "
                     "1 users.")
        client.call("res.users", "write", [[client.uid], {"company_id": 1}])
        client.call("res.company", "write", [[cid], {"active": False}], context={})
        # an archived company is no longer an allowed company
        client.fails("res.partner", "search", [[]], "odoo.exceptions.AccessError",
                     "Access to unauthorized or invalid companies.")
        self.assertEqual(client.call("res.company", "search", [[["name", "=", "Tenant A"]]], context={}), [])
        self.assertEqual(client.call("res.company", "search", [[["name", "=", "Tenant A"]]],
                                     context={"active_test": False}), [cid])

    def test_faults_and_refused_sales(self):
        db, client, made = self.provisioned(17)
        self.assertEqual(SIM.control_fails("POST", "/pos-sales", {"db": db, "company": "Nobody", "count": 1}), 409)
        self.assertEqual(SIM.control_fails("POST", "/pos-sales", {"db": "no_such_db", "company": "Tenant A"}), 404)
        self.sales(db, 2)
        SIM.control("POST", "/faults", {"db": db, "method": "object.execute_kw pos.order search_read",
                                        "action": "error", "name": "odoo.exceptions.UserError"})
        client.fails("pos.order", "search_read", [[]], "odoo.exceptions.UserError", "Injected error")
        self.assertEqual(len(client.call("pos.order", "search_read", [[]], fields=["name"])), 2)
        SIM.control("POST", "/faults", {"db": db, "method": "object.execute_kw pos.session close_session_from_ui",
                                        "action": "drop_after_commit"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            client.call("pos.session", "close_session_from_ui", [[made["session"]], []])
        self.assertEqual(self.state(client, made["session"]), "closed")

    def test_sales_are_fast(self):
        db, client, made = self.provisioned(18)
        started = time.time()
        self.assertEqual(self.sales(db, 300)["count"], 300)
        self.assertLess(time.time() - started, 3)


class ErpnextPosTest(unittest.TestCase):
    """The simulated ERPNext's point of sale (erpnext_pos.py) for issue 20: invoices, the
    closing entry and its refusals, disabling, paged lists and counts, and the sales made by
    the control API."""

    AUTH = {"Authorization": f"token simkey:{KEY}", "Accept": "application/json", "Content-Type": "application/json"}
    COMPANY = "Acme Retail"

    @classmethod
    def setUpClass(cls):
        cls.sim = Simulator("erpnext_sim.py")

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def setUp(self):
        self.site = f"{self.id().rsplit('.', 1)[-1]}.localhost".replace("_", "-")

    def tearDown(self):
        self.sim.control("DELETE", "/faults")

    def api(self, method, path, body=None, status=200):
        """A request to the site: the answer's JSON, after checking its status."""
        code, _, data = self.sim.request(method, urllib.request.quote(path, safe="/?=&"),
                                         json.dumps(body).encode() if body is not None else None,
                                         {**self.AUTH, "Host": self.site})
        answer = json.loads(data)
        self.assertEqual(code, status, answer)
        return answer

    def refused(self, method, path, body, status, exc_type, message=None, title="Message"):
        answer = self.api(method, path, body, status)
        self.assertEqual(answer["exc_type"], exc_type)
        shown = json.loads(json.loads(answer["_server_messages"])[0])
        if message is not None:
            self.assertIn(message, shown["message"])
        self.assertEqual(shown["title"], title)
        return shown["message"]

    def create(self, doctype, body):
        return self.api("POST", f"/api/resource/{doctype}", body)["data"]

    def provision(self):
        """A company with its POS Profile, an open POS Opening Entry and two items."""
        self.create("Company", {"company_name": self.COMPANY, "abbr": "AR", "default_currency": "USD",
                                "country": "United States"})
        self.create("Customer", {"customer_name": "Walk-In Customer", "customer_group": "Individual"})
        for code, rate in (("DEMO-001", 3.5), ("DEMO-002", 2.0)):
            self.create("Item", {"item_code": code, "item_group": "Products", "stock_uom": "Nos",
                                 "standard_rate": rate})
        self.create("POS Profile", {"name": "Acme POS", "company": self.COMPANY, "warehouse": "Stores - AR",
                                    "currency": "USD", "write_off_account": "Write Off - AR",
                                    "write_off_cost_center": "Main - AR", "customer": "Walk-In Customer",
                                    "payments": [{"mode_of_payment": "Cash", "default": 1}]})
        return self.open_session()

    def open_session(self):
        return self.create("POS Opening Entry", {
            "pos_profile": "Acme POS", "company": self.COMPANY, "user": "Administrator",
            "period_start_date": "2025-06-15 09:00:00", "posting_date": "2025-06-15",
            "balance_details": [{"mode_of_payment": "Cash", "opening_amount": 0}], "docstatus": 1})["name"]

    def sales(self, count, **extra):
        return self.sim.control("POST", "/pos-sales", {"site": self.site, "company": self.COMPANY, "count": count,
                                                       "seed": 1, **extra})

    def closing(self, opening, invoices, **extra):
        return {"pos_opening_entry": opening, "company": self.COMPANY, "docstatus": 1,
                "payment_reconciliation": [{"mode_of_payment": "Cash", "opening_amount": 0, "closing_amount": 0}],
                "pos_transactions": [{"pos_invoice": name} for name in invoices], **extra}

    def test_invoices_and_their_rows(self):
        opening = self.provision()
        made = self.sales(3)
        self.assertEqual((made["count"], made["opening_entry"], made["pos_profile"]), (3, opening, "Acme POS"))
        invoice = self.api("GET", f"/api/resource/POS Invoice/{made['invoices'][0]}")["data"]
        self.assertEqual((invoice["company"], invoice["pos_profile"], invoice["customer"], invoice["is_pos"],
                          invoice["docstatus"], invoice["status"], invoice["owner"]),
                         (self.COMPANY, "Acme POS", "Walk-In Customer", 1, 1, "Paid", "Administrator"))
        self.assertNotIn("consolidated_invoice", invoice)       # null fields are left out
        self.assertTrue(1 <= len(invoice["items"]) <= 3)
        for row in invoice["items"]:
            self.assertEqual((row["parent"], row["parentfield"], row["doctype"]),
                             (invoice["name"], "items", "POS Invoice Item"))
            self.assertEqual(row["amount"], round(row["qty"] * row["rate"], 2))
        self.assertEqual([(p["mode_of_payment"], p["amount"]) for p in invoice["payments"]],
                         [("Cash", invoice["grand_total"])])
        self.assertEqual(invoice["grand_total"], sum(r["amount"] for r in invoice["items"]))
        # by REST too; refused without an open opening entry, or with a disabled customer or item
        body = {"company": self.COMPANY, "pos_profile": "Acme POS", "customer": "Walk-In Customer", "docstatus": 1,
                "items": [{"item_code": "DEMO-001", "qty": 2}], "payments": [{"mode_of_payment": "Cash", "amount": 7}]}
        self.assertEqual(self.create("POS Invoice", body)["grand_total"], 7.0)
        self.refused("POST", "/api/resource/POS Invoice", {**body, "payments": []}, 417, "ValidationError",
                     "At least one mode of payment is required for POS invoice.")
        self.api("PUT", "/api/resource/Item/DEMO-002", {"disabled": True})
        self.refused("POST", "/api/resource/POS Invoice", {**body, "items": [{"item_code": "DEMO-002", "qty": 1}]},
                     417, "ValidationError", "Item DEMO-002 is disabled")
        self.api("PUT", "/api/resource/Customer/Walk-In Customer", {"disabled": 1})
        self.refused("POST", "/api/resource/POS Invoice", body, 417, "PartyDisabled",
                     "Customer Walk-In Customer is disabled")
        self.api("PUT", "/api/resource/Customer/Walk-In Customer", {"disabled": 0})
        self.create("Sales Invoice", {**body, "is_pos": 1, "pos_profile": "Acme POS"})
        # the merge at closing makes Sales Invoices: a disabled item refuses it (derived)
        self.refused("POST", "/api/resource/POS Closing Entry", self.closing(opening, made["invoices"]), 417,
                     "ValidationError", "Item DEMO-002 is disabled")
        self.api("PUT", "/api/resource/Item/DEMO-002", {"disabled": 0})
        self.api("POST", "/api/resource/POS Closing Entry", self.closing(opening, made["invoices"]))
        self.refused("POST", "/api/resource/POS Invoice", body, 417, "ValidationError",
                     "No open POS Opening Entry found for POS Profile Acme POS.", "POS Opening Entry Missing")

    def test_closing_entry(self):
        opening = self.provision()
        made = self.sales(4)["invoices"]
        mine = self.api("GET", "/api/method/erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry."
                               "get_pos_invoices?start=2025-06-15 09:00:00&end=2999-01-01 00:00:00"
                               "&pos_profile=Acme POS&user=Administrator")["message"]
        self.assertEqual([i["name"] for i in mine], made)
        self.assertTrue(all(i["payments"] and i["items"] for i in mine))
        self.refused("GET", "/api/method/erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry."
                            "make_closing_entry_from_opening?opening_entry=" + opening, None, 403, "PermissionError",
                     "is not whitelisted", "Method Not Allowed")
        # refusals: duplicate rows, invalid invoices (another profile's, a draft, another user's)
        self.refused("POST", "/api/resource/POS Closing Entry", self.closing(opening, made[:1] * 2), 417,
                     "ValidationError", "is added multiple times on rows: <strong>[1, 2]</strong>",
                     "Duplicate POS Invoices found")
        draft = self.sales(1, docstatus=0)["invoices"]
        message = self.refused("POST", "/api/resource/POS Closing Entry", self.closing(opening, draft), 417,
                               "ValidationError", "Row #1: POS Invoice is not submitted", "Invalid POS Invoices")
        self.assertTrue(message.startswith("<ul><li>"))
        self.refused("POST", "/api/resource/POS Closing Entry", self.closing("POS-OPE-2025-99999", made), 417,
                     "LinkValidationError", "Could not find POS Opening Entry: POS-OPE-2025-99999")
        self.refused("POST", "/api/resource/POS Closing Entry", {"pos_opening_entry": opening}, 417, "MandatoryError",
                     "company")
        # the fetch_from fields are the opening entry's whatever is sent
        closing = self.create("POS Closing Entry", self.closing(opening, made, user="someone", docstatus=0))
        self.assertEqual((closing["user"], closing["pos_profile"], closing["period_start_date"], closing["status"]),
                         ("Administrator", "Acme POS", "2025-06-15 09:00:00", "Draft"))
        self.assertEqual([r["grand_total"] for r in closing["pos_transactions"]],
                         [self.api("GET", f"/api/resource/POS Invoice/{n}")["data"]["grand_total"] for n in made])
        self.assertEqual(self.api("GET", f"/api/resource/POS Opening Entry/{opening}")["data"]["status"], "Open")
        # a disabled warehouse makes the inline merge fail: the submit is refused, nothing changes
        self.api("PUT", "/api/resource/Warehouse/Stores - AR", {"disabled": 1})
        self.refused("PUT", f"/api/resource/POS Closing Entry/{closing['name']}", {"docstatus": 1}, 417,
                     "ValidationError", "Disabled Warehouse <strong>Stores - AR</strong> cannot be used")
        self.api("PUT", "/api/resource/Warehouse/Stores - AR", {"disabled": 0})
        # the profile cannot be disabled while its session is open
        self.refused("PUT", "/api/resource/POS Profile/Acme POS", {"disabled": 1}, 417, "ValidationError",
                     "POS Profile Acme POS cannot be disabled as there are ongoing POS sessions.")
        submitted = self.api("PUT", f"/api/resource/POS Closing Entry/{closing['name']}", {"docstatus": 1})["data"]
        self.assertEqual(submitted["status"], "Submitted")
        entry = self.api("GET", f"/api/resource/POS Opening Entry/{opening}")["data"]
        self.assertEqual((entry["status"], entry["pos_closing_entry"]), ("Closed", closing["name"]))
        invoice = self.api("GET", f"/api/resource/POS Invoice/{made[0]}")["data"]
        self.assertEqual(invoice["status"], "Consolidated")
        merged = self.api("GET", f"/api/resource/Sales Invoice/{invoice['consolidated_invoice']}")["data"]
        self.assertEqual((merged["is_pos"], merged["is_consolidated"], merged["customer"], merged["docstatus"]),
                         (1, 1, "Walk-In Customer", 1))
        # a second closing for the same opening entry
        self.refused("POST", "/api/resource/POS Closing Entry", self.closing(opening, []), 417, "ValidationError",
                     "Selected POS Opening Entry should be open.", "Invalid Opening Entry")
        # now the profile and the warehouse can be disabled, and a disabled profile opens no session
        self.api("PUT", "/api/resource/POS Profile/Acme POS", {"disabled": 1})
        self.refused("POST", "/api/resource/POS Opening Entry", {
            "pos_profile": "Acme POS", "company": self.COMPANY, "user": "Administrator",
            "period_start_date": "2025-06-16 09:00:00", "posting_date": "2025-06-16",
            "balance_details": [{"mode_of_payment": "Cash", "opening_amount": 0}], "docstatus": 1},
            417, "ValidationError", "POS Profile Acme POS is disabled.")
        self.api("PUT", "/api/resource/POS Profile/Acme POS", {"disabled": 0})
        # cancelling the closing entry reopens the opening entry
        self.api("POST", f"/api/resource/POS Closing Entry/{closing['name']}", {"run_method": "cancel"})
        self.assertEqual(self.api("GET", f"/api/resource/POS Opening Entry/{opening}")["data"]["status"], "Open")
        self.assertEqual(self.api("GET", f"/api/resource/Sales Invoice/{merged['name']}")["data"]["docstatus"], 2)

    def test_queued_merge(self):
        opening = self.provision()
        made = self.sales(12)["invoices"]
        self.sim.control("POST", f"/sites/{self.site}/scheduler", {"enabled": False})
        self.refused("POST", "/api/resource/POS Closing Entry", self.closing(opening, made), 417, "ValidationError",
                     "Scheduler is inactive. Cannot enqueue job.")
        self.assertEqual(self.sim.control("POST", f"/sites/{self.site}/scheduler", {"enabled": True, "delay_ms": 300}),
                         {"enabled": True, "delay_ms": 300})
        closing = self.create("POS Closing Entry", self.closing(opening, made))
        self.assertEqual(closing["status"], "Queued")
        self.assertEqual(self.api("GET", f"/api/resource/POS Opening Entry/{opening}")["data"]["status"], "Open")
        deadline = time.time() + 5
        while self.api("GET", f"/api/resource/POS Closing Entry/{closing['name']}")["data"]["status"] == "Queued":
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        self.assertEqual(self.api("GET", f"/api/resource/POS Closing Entry/{closing['name']}")["data"]["status"],
                         "Submitted")
        self.assertEqual(self.api("GET", f"/api/resource/POS Opening Entry/{opening}")["data"]["status"], "Closed")

    def test_pages_and_counts(self):
        self.provision()
        made = self.sales(25)["invoices"]
        filters = json.dumps([["company", "=", self.COMPANY]])
        count = self.api("GET", f"/api/method/frappe.client.get_count?doctype=POS Invoice&filters={filters}")
        self.assertEqual(count["message"], 25)
        pages, start = [], 0
        while True:
            page = self.api("GET", f"/api/resource/POS Invoice?fields={json.dumps(['name', 'grand_total'])}"
                                   f"&filters={filters}&order_by=creation asc&limit_start={start}"
                                   f"&limit_page_length=10")["data"]
            pages.append(page)
            start += len(page)
            if len(page) < 10:
                break
        self.assertEqual([len(p) for p in pages], [10, 10, 5])
        self.assertEqual([r["name"] for p in pages for r in p], made)
        # default page of 20, newest first; 0 means all
        default = self.api("GET", "/api/resource/POS Invoice")["data"]
        self.assertEqual([r["name"] for r in default], made[::-1][:20])
        self.assertEqual(len(self.api("GET", "/api/resource/POS Invoice?limit_page_length=0")["data"]), 25)
        # child fields join the rows: one per item, the page counts joined rows
        joined = self.api("GET", "/api/resource/POS Invoice?fields=" + json.dumps(
            ["name", "items.item_code", "items.qty as quantity"]) + "&order_by=name asc&limit_page_length=0")["data"]
        lines = [r for name in made for r in self.api("GET", f"/api/resource/POS Invoice/{name}")["data"]["items"]]
        self.assertEqual([(r["name"], r["item_code"], r["quantity"]) for r in joined],
                         [(r["parent"], r["item_code"], r["qty"]) for r in lines])
        self.assertEqual(self.api("GET", "/api/method/frappe.client.get_list?doctype=POS Invoice&limit_page_length=3"
                                         "&order_by=name asc")["message"], [{"name": n} for n in made[:3]])
        self.assertEqual(self.api("GET", f"/api/method/frappe.client.get?doctype=POS Invoice&name={made[0]}")
                         ["message"]["name"], made[0])

    def test_faults_and_refused_sales(self):
        self.assertEqual(self.sim.control_fails("POST", "/pos-sales", {"site": self.site, "company": "Nobody",
                                                                       "count": 1}), 409)
        opening = self.provision()
        self.sales(2)
        self.sim.control("POST", "/faults", {"site": self.site, "doctype": "POS Invoice", "action": "status",
                                             "status": 503})
        self.refused("GET", "/api/method/frappe.client.get_count?doctype=POS Invoice", None, 503, "SessionStopped")
        self.assertEqual(self.api("GET", "/api/method/frappe.client.get_count?doctype=POS Invoice")["message"], 2)
        self.sim.control("POST", "/faults", {"site": self.site, "doctype": "POS Closing Entry",
                                             "action": "drop_after_commit"})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.api("POST", "/api/resource/POS Closing Entry", self.closing(opening, []))
        self.assertEqual(self.api("GET", f"/api/resource/POS Opening Entry/{opening}")["data"]["status"], "Closed")
        self.assertEqual(self.sim.control_fails("POST", "/pos-sales", {"site": self.site, "company": self.COMPANY,
                                                                       "count": 1}), 409)

    def test_sales_are_fast(self):
        self.provision()
        started = time.time()
        self.assertEqual(self.sales(300)["count"], 300)
        self.assertLess(time.time() - started, 3)


if __name__ == "__main__":
    unittest.main()
