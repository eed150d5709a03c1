#!/usr/bin/env python3
"""A simulated ERPNext (Frappe v15, REST API v1) for the provisioning extension's tests.

It follows ../shared/reference/erpnext-api.md: the /api/resource and /api/method routes,
token (and Basic) authentication, the {"data": ...} and {"message": ...} envelopes, the
error envelope with a doubly encoded _server_messages, the status codes (401, 403, 404,
409, 417, 429, 5xx) and the quirks a provisioner must survive:

  * a Customer POSTed twice becomes "<name> - 1" (no 409);
  * a Company whose chart template is unknown is saved with no accounts; saving it again
    while it has none imports the chart (that is how an import is re-triggered);
  * a POS Profile needs a name (Prompt naming), one default payment and a Mode of Payment
    Account for the company; only one open POS Opening Entry per profile and per user;
  * frappe.client.insert_many inserts up to 200 documents in one request, which is one
    transaction: a document that fails (a duplicate: 409) takes the others back with it;
  * the point of sale of issue 20 (invoices, POS Closing Entry, disabling): erpnext_pos.py.

State is kept per site, keyed by the Host header (as Frappe's multi-tenancy does), each
seeded as after the setup wizard's "Installing presets" stage, without a Company or a
Fiscal Year.

The HTTP servers, fault rules, request log and the control API's common endpoints are in
simcore.py, shared with odoo_sim.py; Frappe's document layer (errors, filters, mandatory and
link checks) is in frappe_doc.py.

Usage: erpnext_sim.py --port P --control-port C [--api-key K --api-secret S]
                      [--user Administrator] [--ready-file F]
Port 0 picks a free port; the ready file then tells {"port", "control_port"}.

Control API (JSON, on the control port):
  POST   /faults     {"site","method","path" (regex on the decoded path with its query),
                      "doctype" (what the request reads or writes: the resource's doctype,
                      or a doctype among frappe.client.insert(_many)'s documents),
                      "action": status|delay|drop_after_commit|reset|timeout|raw|malformed,
                      "status","retry_after","delay_ms","times" (default 1, -1 forever),
                      "probability","seed", "body_base64" (raw: the answer's exact bytes,
                      with "status", default 200), "answer","mode" (malformed: the corpus
                      answer named, HTTP 200, after running the request: mode "applied", or
                      instead of it: "instead", the default), "once_per_request" (each
                      distinct request, by method, path with its query and doctype, once)}
                      -> {"id"}; a list of rules -> {"ids"}
  GET    /malformed  the names of the malformed answers (nulls and wrong types in the
                     envelopes, an error envelope with 200, and simcore's common ones)
  DELETE /faults     remove every rule;  GET /faults  list them
  POST   /latency    {"ms"}: every API request waits that long first
  POST   /offline    {"offline": true|false}: close the API port (connections refused) or reopen it
  POST   /limits     {"site","requests_per_second","burst","workers","retry_after"}: the
                     site's capacity (replaces what was set; a field absent or null: no such
                     limit; without a site, the whole engine's, which every site's requests
                     pass too). Rate: a token bucket of "burst" requests (default one
                     second's worth) refilled at requests_per_second; a request with no token
                     is refused as Frappe's RateLimiter refuses it, once it has a worker: 429,
                     {"exc_type": "TooManyRequestsError"} to a JSON request (Accept
                     application/json), plain "Too Many Requests" to any other, Retry-After in
                     whole seconds (until a token is back, at least 1; or "retry_after"), and
                     X-RateLimit-Limit/-Remaining/-Reset (in requests and seconds) on every
                     answer of the site while the limit is on; it is logged (refused: true), not
                     run, and meets no fault rule. "workers": at most that many requests are
                     processed at once, the others wait in arrival order (gunicorn's backlog);
                     latency and faults are served while a worker is held. -> {"site","limits"};
                     400 for a bad limit.  GET /limits: those set ("*": the engine's)
  GET    /capacity[?site=S]   the site's counters (without a site, the whole engine's) since
                     its last reset: {"site","arrived","refused","served","in_flight" (received,
                     not yet answered, waiting ones included),"processing" (holding a worker),
                     "waiting","peak_in_flight","peak_processing","peak_waiting","limits"};
                     arrived = refused + served + in_flight
  POST   /reset      {"site"}: forget one site (its data, limits and counters); without a
                     site, everything
  POST   /sites/<site>/credentials {"api_key","api_secret"}
  POST   /sites/<site>/scheduler {"enabled","delay_ms"}: the background scheduler (default on,
                     200 ms): a POS Closing Entry of 10 or more invoices is Queued and merged
                     delay_ms later; with the scheduler off its submit is refused
                     -> {"enabled","delay_ms"}
  POST   /pos-sales  {"site","company","count","seed","docstatus" (1, default, or 0)}: count POS
                     Invoices in the company's open POS Opening Entry, by its user, for the
                     profile's customer, 1-3 lines of enabled items at standard_rate and one
                     payment (the profile's default mode) of the total each
                     -> {"site","count","opening_entry","pos_profile","invoices"}; 409 {"error"}
                     when none is open (or no customer / items, or a refusal)
  GET    /requests?site=S   every API request received, in order (with the doctype(s) it
                            reads or writes, as a fault rule's "doctype" matches them;
                            "t_start" when it arrived, "t_worker" when it got a worker,
                            "t_answered" when its answer was made, "t_end" once sent;
                            "refused" by the rate limiter)
  GET    /count?site=S&doctype=D[&filters=JSON]   -> {"count"}
  GET    /docs?site=S&doctype=D   -> {"data": [...]}
  GET    /summary?site=S   counts of what a provisioning run creates
  GET    /health
"""

import argparse
import base64
import copy
import datetime
import json
import re
import time
import urllib.parse
import uuid

import simcore
from simcore import FAULTS, LOCK, Reply
import erpnext_pos
from frappe_doc import (FrappeError, duplicate, get_list, loose, matches, parse_filters, require, require_link, stamp,
                        validation, without_nulls)

CONFIG = {"api_key": "simkey", "api_secret": "simsecret", "user": "Administrator"}
SITES = {}

SINGLES = {"Stock Settings", "Selling Settings", "Global Defaults", "POS Settings", "System Settings"}
# Check fields, which Frappe saves as 0 or 1 whatever was sent
CHECK_FIELDS = {"Stock Settings": ("allow_negative_stock",), "POS Profile": ("disabled",), "Warehouse": ("disabled",),
                "Customer": ("disabled",), "Item": ("disabled",)}
SUMMARY_DOCTYPES = ["Fiscal Year", "Company", "Account", "Warehouse", "Customer", "POS Profile",
                    "POS Opening Entry", "Item"]
# Standard chart: 81 accounts (5 roots; 27 assets, 13 liabilities, 6 equity, 5 income, 30 expenses).
CHART_GROUPS = [
    ("Application of Funds (Assets)", "Asset",
     ["Cash", "Debtors", "Stock In Hand", "Bank Accounts", "Current Assets", "Fixed Assets"], 27),
    ("Source of Funds (Liabilities)", "Liability", ["Creditors", "Duties and Taxes", "Current Liabilities"], 13),
    ("Equity", "Equity", ["Capital Stock", "Retained Earnings"], 6),
    ("Income", "Income", ["Sales", "Service", "Direct Income"], 5),
    ("Expenses", "Expense", ["Cost of Goods Sold", "Write Off", "Round Off", "Exchange Gain/Loss"], 30),
]
KNOWN_CHARTS = {"Standard", "Standard with Numbers"}


# ------------------------------------------------------------------------------ sites

class Site:
    def __init__(self, host):
        self.host = host
        self.docs = {}          # doctype -> {name: doc}
        self.series = {}
        self.credentials = None
        # the background jobs' scheduler: a POS Closing Entry's queued merge runs delay_ms later
        self.scheduler = {"enabled": True, "delay_ms": 200}
        self.seed()

    def table(self, doctype):
        return self.docs.setdefault(doctype, {})

    def put(self, doctype, doc):
        doc.setdefault("doctype", doctype)
        doc.setdefault("docstatus", 0)
        doc.setdefault("owner", CONFIG["user"])
        doc.setdefault("creation", stamp())
        doc["modified"] = stamp()
        self.table(doctype)[doc["name"]] = doc
        return doc

    def get(self, doctype, name):
        return self.table(doctype).get(name)

    def seed(self):
        for name, group in [("All Item Groups", 1), ("Products", 0), ("Raw Material", 0), ("Services", 0),
                            ("Sub Assemblies", 0), ("Consumable", 0)]:
            self.put("Item Group", {"name": name, "item_group_name": name, "is_group": group,
                                    "parent_item_group": None if group else "All Item Groups"})
        for name, group in [("All Territories", 1), ("United States", 0), ("Rest Of The World", 0)]:
            self.put("Territory", {"name": name, "territory_name": name, "is_group": group})
        for name, group in [("All Customer Groups", 1), ("Individual", 0), ("Commercial", 0),
                            ("Non Profit", 0), ("Government", 0)]:
            self.put("Customer Group", {"name": name, "customer_group_name": name, "is_group": group})
        for name, kind in [("Cash", "Cash"), ("Credit Card", "Bank"), ("Wire Transfer", "Bank"),
                           ("Bank Draft", "Bank"), ("Check", "Bank")]:
            self.put("Mode of Payment", {"name": name, "mode_of_payment": name, "type": kind,
                                         "enabled": 1, "accounts": []})
        for uom in ["Nos", "Unit", "Box", "Kg", "Litre", "Hour"]:
            self.put("UOM", {"name": uom, "uom_name": uom, "must_be_whole_number": int(uom in ("Nos", "Box"))})
        self.put("Price List", {"name": "Standard Buying", "price_list_name": "Standard Buying",
                                "currency": "USD", "buying": 1, "selling": 0, "enabled": 1})
        self.put("Price List", {"name": "Standard Selling", "price_list_name": "Standard Selling",
                                "currency": "USD", "buying": 0, "selling": 1, "enabled": 1})
        for user in {"Administrator", CONFIG["user"]}:
            self.put("User", {"name": user, "email": user, "enabled": 1})
        for code in ["USD", "EUR", "GBP", "INR"]:
            self.put("Currency", {"name": code, "enabled": 1})
        for country in ["United States", "India", "United Kingdom", "Germany"]:
            self.put("Country", {"name": country})
        # Singles as Frappe keeps them: a field never set is null (a read leaves it out), a
        # Check is 0 or 1
        self.put("Selling Settings", {"name": "Selling Settings", "cust_master_name": "Customer Name",
                                      "customer_group": None, "territory": None, "selling_price_list": None})
        self.put("Stock Settings", {"name": "Stock Settings", "item_naming_by": "Item Code",
                                    "valuation_method": "FIFO", "stock_uom": "Nos", "default_warehouse": None,
                                    "allow_negative_stock": 0})
        self.put("Global Defaults", {"name": "Global Defaults"})
        self.put("POS Settings", {"name": "POS Settings"})
        self.put("System Settings", {"name": "System Settings", "setup_complete": 1})

    def next_in_series(self, prefix):
        n = self.series.get(prefix, 0) + 1
        self.series[prefix] = n
        return f"{prefix}{n:05d}"


def site_for(host):
    host = (host or "").split(":")[0].lower() or "127.0.0.1"
    with LOCK:
        if host not in SITES:
            SITES[host] = Site(host)
        return SITES[host]


# ------------------------------------------------------------------------------ doctype rules

def abbr_of(site, company):
    c = site.get("Company", company)
    if c is None:
        raise validation(f"Could not find Company: {company}", "LinkValidationError")
    return c["abbr"]


def import_chart(site, company):
    """Creates the company's accounts when its chart template is known; silently none otherwise."""
    abbr = company["abbr"]
    if company.get("chart_of_accounts") not in KNOWN_CHARTS:
        return
    for root, root_type, named, count in CHART_GROUPS:
        site.put("Account", {"name": f"{root} - {abbr}", "account_name": root, "company": company["name"],
                             "is_group": 1, "root_type": root_type})
        names = named + [f"{root_type} Account {i}" for i in range(1, count - len(named))]
        for acc in names[:count - 1]:
            site.put("Account", {"name": f"{acc} - {abbr}", "account_name": acc, "company": company["name"],
                                 "is_group": 0, "root_type": root_type, "parent_account": f"{root} - {abbr}",
                                 "account_type": "Cash" if acc == "Cash" else ""})
    company["default_cash_account"] = f"Cash - {abbr}"
    company["write_off_account"] = f"Write Off - {abbr}"
    company["round_off_account"] = f"Round Off - {abbr}"
    company["default_receivable_account"] = f"Debtors - {abbr}"
    company["default_payable_account"] = f"Creditors - {abbr}"
    company["default_income_account"] = f"Sales - {abbr}"
    company["default_expense_account"] = f"Cost of Goods Sold - {abbr}"
    cash = next((m for m in site.table("Mode of Payment").values() if m.get("type") == "Cash"), None)
    if cash is not None and not any(r["company"] == company["name"] for r in cash["accounts"]):
        cash["accounts"].append({"company": company["name"], "default_account": f"Cash - {abbr}"})


def account_count(site, company):
    return sum(1 for a in site.table("Account").values() if a["company"] == company)


def company_on_update(site, company, new):
    if account_count(site, company["name"]) == 0:
        import_chart(site, company)
    if new:
        abbr, name = company["abbr"], company["name"]
        site.put("Warehouse", {"name": f"All Warehouses - {abbr}", "warehouse_name": "All Warehouses",
                               "company": name, "is_group": 1})
        for wh in ["Stores", "Work In Progress", "Finished Goods"]:
            site.put("Warehouse", {"name": f"{wh} - {abbr}", "warehouse_name": wh, "company": name,
                                   "is_group": 0, "parent_warehouse": f"All Warehouses - {abbr}"})
        site.put("Warehouse", {"name": f"Goods In Transit - {abbr}", "warehouse_name": "Goods In Transit",
                               "company": name, "is_group": 0, "warehouse_type": "Transit",
                               "parent_warehouse": f"All Warehouses - {abbr}"})
        site.put("Cost Center", {"name": f"{name} - {abbr}", "cost_center_name": name, "company": name, "is_group": 1})
        site.put("Cost Center", {"name": f"Main - {abbr}", "cost_center_name": "Main", "company": name,
                                 "is_group": 0, "parent_cost_center": f"{name} - {abbr}"})
        for field in ["cost_center", "round_off_cost_center", "depreciation_cost_center"]:
            company[field] = f"Main - {abbr}"


def insert_company(site, doc):
    require(doc, "Company", "company_name", "default_currency", "country")
    require_link(site, "Currency", doc["default_currency"], "Default Currency")
    require_link(site, "Country", doc["country"], "Country")
    name = doc["company_name"]
    if site.get("Company", name):
        raise duplicate("Company", name)
    if not doc.get("abbr"):
        doc["abbr"] = "".join(w[0] for w in name.split() if w).upper()
    if any(c["abbr"] == doc["abbr"] for c in site.table("Company").values()):
        raise validation("Abbreviation already used for another company")
    if doc.get("create_chart_of_accounts_based_on") != "Existing Company":
        doc["create_chart_of_accounts_based_on"] = "Standard Template"
        doc["chart_of_accounts"] = doc.get("chart_of_accounts") or "Standard"
    doc["name"] = name
    company = site.put("Company", doc)
    company_on_update(site, company, True)
    return company


def insert_fiscal_year(site, doc):
    require(doc, "Fiscal Year", "year", "year_start_date", "year_end_date")
    start = datetime.date.fromisoformat(doc["year_start_date"])
    end = datetime.date.fromisoformat(doc["year_end_date"])
    try:
        expected = start.replace(year=start.year + 1) - datetime.timedelta(days=1)
    except ValueError:
        expected = start + datetime.timedelta(days=364)
    if not doc.get("is_short_year") and end != expected:
        raise validation("Fiscal Year End Date should be one year after Fiscal Year Start Date", "InvalidDates")
    if site.get("Fiscal Year", doc["year"]):
        raise duplicate("Fiscal Year", doc["year"])
    mine = {r.get("company") for r in doc.get("companies") or []}
    for fy in site.table("Fiscal Year").values():
        theirs = {r.get("company") for r in fy.get("companies") or []}
        overlap = fy["year_start_date"] <= doc["year_end_date"] and doc["year_start_date"] <= fy["year_end_date"]
        if overlap and (not mine or not theirs or mine & theirs):
            raise FrappeError(409, "NameError", f"Year start date or end date is overlapping with {fy['name']}. "
                                                "To avoid please set company")
    doc["name"] = doc["year"]
    doc.setdefault("disabled", 0)
    return site.put("Fiscal Year", doc)


def insert_warehouse(site, doc):
    require(doc, "Warehouse", "warehouse_name", "company")
    abbr = abbr_of(site, doc["company"])
    require_link(site, "Warehouse", doc.get("parent_warehouse"), "Parent Warehouse")
    name = doc["warehouse_name"]
    if not name.endswith(f" - {abbr}"):
        name = f"{name} - {abbr}"
    if site.get("Warehouse", name):
        raise duplicate("Warehouse", name)
    doc["name"] = name
    doc.setdefault("is_group", 0)
    return site.put("Warehouse", doc)


def insert_customer(site, doc):
    require(doc, "Customer", "customer_name")
    doc.setdefault("customer_type", "Company")
    require_link(site, "Customer Group", doc.get("customer_group"), "Customer Group")
    require_link(site, "Territory", doc.get("territory"), "Territory")
    base = doc["customer_name"]
    if site.get("Customer Group", base):
        raise FrappeError(409, "NameError", "A Customer Group exists with same name please change the Customer "
                                            "name or rename the Customer Group")
    name, n = base, 0
    while site.get("Customer", name):      # the quirk: no 409, a new name
        n += 1
        name = f"{base} - {n}"
    doc["name"] = name
    return site.put("Customer", doc)


def insert_item(site, doc):
    require(doc, "Item", "item_code", "item_group", "stock_uom")
    group = site.get("Item Group", doc["item_group"])
    if group is None:
        raise validation(f"Could not find Item Group: {doc['item_group']}", "LinkValidationError")
    if group.get("is_group"):
        raise validation("Cannot select a Group type Item Group in transactions")
    require_link(site, "UOM", doc["stock_uom"], "Default Unit of Measure")
    if doc.get("opening_stock") and not (doc.get("valuation_rate") or doc.get("standard_rate")):
        raise validation("Valuation Rate is mandatory if Opening Stock entered")
    if site.get("Item", doc["item_code"]):
        raise duplicate("Item", doc["item_code"])
    doc["name"] = doc["item_code"]
    doc.setdefault("item_name", doc["item_code"])
    return site.put("Item", doc)


def simple_insert(name_field, abbr=False):
    def insert(site, doc, doctype):
        require(doc, doctype, name_field)
        name = doc[name_field]
        if abbr:
            name = f"{name} - {abbr_of(site, doc['company'])}"
        if site.get(doctype, name):
            raise duplicate(doctype, name)
        doc["name"] = name
        return site.put(doctype, doc)
    return insert


INSERTERS = {
    "Company": insert_company, "Fiscal Year": insert_fiscal_year, "Warehouse": insert_warehouse,
    "Customer": insert_customer, "Item": insert_item, "POS Profile": erpnext_pos.insert_pos_profile,
    "POS Opening Entry": erpnext_pos.insert_opening_entry, "POS Invoice": erpnext_pos.insert_pos_invoice,
    "Sales Invoice": erpnext_pos.insert_sales_invoice, "POS Closing Entry": erpnext_pos.insert_closing_entry,
}
# checks of an update, given the document and its new values; they may return what to do once it is saved
UPDATE_CHECKS = {"POS Profile": erpnext_pos.update_pos_profile, "POS Opening Entry": erpnext_pos.update_opening_entry,
                 "POS Closing Entry": erpnext_pos.update_closing_entry}
SIMPLE = {
    "Item Group": simple_insert("item_group_name"), "Customer Group": simple_insert("customer_group_name"),
    "Territory": simple_insert("territory_name"), "UOM": simple_insert("uom_name"),
    "Price List": simple_insert("price_list_name"), "Mode of Payment": simple_insert("mode_of_payment"),
    "Cost Center": simple_insert("cost_center_name", abbr=True), "User": simple_insert("email"),
    "Account": simple_insert("account_name", abbr=True),
}
KNOWN_DOCTYPES = set(INSERTERS) | set(SIMPLE) | SINGLES | {"Currency", "Country"}


def insert(site, doctype, doc):
    doc = dict(doc)
    doc.pop("doctype", None)
    if doctype in INSERTERS:
        return INSERTERS[doctype](site, doc)
    if doctype in SIMPLE:
        return SIMPLE[doctype](site, doc, doctype)
    raise FrappeError(403, "PermissionError", f"Cannot create {doctype}")


def insert_many(site, docs):
    """frappe.client.insert_many: each document inserted in turn, the names answered in
    order; the request is one transaction, so an error rolls back every insert before it."""
    docs = json.loads(docs) if isinstance(docs, str) else docs
    if not isinstance(docs, list):
        raise validation("docs must be a list of documents")
    if len(docs) > 200:
        raise validation("Only 200 inserts allowed in one request")
    saved = copy.deepcopy((site.docs, site.series))
    try:
        return [insert(site, doc.get("doctype"), doc)["name"] for doc in docs]
    except Exception:
        site.docs, site.series = saved
        raise


def update(site, doctype, name, changes):
    doc = site.get(doctype, name)
    if doc is None:
        raise FrappeError(404, "DoesNotExistError", f"{doctype} {name} not found")
    changes = {k: v for k, v in changes.items() if k not in ("flags", "name", "doctype")}
    if "modified" in changes and changes.pop("modified") != doc["modified"]:
        raise validation("Document has been modified after you have opened it", "TimestampMismatchError")
    merged = {**doc, **changes}
    for field in CHECK_FIELDS.get(doctype, ()):
        merged[field] = 1 if loose(merged.get(field) or 0) else 0
    if doctype == "Stock Settings":
        wh = merged.get("default_warehouse")
        if wh:
            linked = site.get("Warehouse", wh)
            if linked is None:
                raise validation(f"Could not find Default Warehouse: {wh}", "LinkValidationError")
            if linked.get("is_group"):
                raise validation("Group Warehouses cannot be used in transactions")
    if doctype == "Selling Settings":
        require_link(site, "Customer Group", merged.get("customer_group"), "Default Customer Group")
        require_link(site, "Territory", merged.get("territory"), "Default Territory")
        require_link(site, "Price List", merged.get("selling_price_list"), "Default Price List")
    if doctype == "Company" and merged.get("abbr") != doc.get("abbr"):
        raise validation("Abbreviation cannot be changed (set only once)")
    merged["docstatus"] = int(merged.get("docstatus") or 0)
    after_save = UPDATE_CHECKS[doctype](site, doc, merged) if doctype in UPDATE_CHECKS else None
    doc.clear()
    doc.update(merged)
    doc["modified"] = stamp()
    if doctype == "Company":
        company_on_update(site, doc, False)
    if after_save:
        after_save(doc)
    return doc


# ------------------------------------------------------------------------------ faults

GET_POS_INVOICES = "erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry.get_pos_invoices"
# functions that exist but have no @frappe.whitelist()
NOT_WHITELISTED = {"erpnext.accounts.doctype.pos_closing_entry.pos_closing_entry.make_closing_entry_from_opening"}
# methods whose "doctype" argument names the doctype they read
DOCTYPE_METHODS = ("frappe.client.get_count", "frappe.client.get_list", "frappe.client.get")


def request_doctypes(path, args):
    """The doctypes a request reads or writes: a resource's, the doctype argument of
    DOCTYPE_METHODS (POS Invoice for get_pos_invoices), or those of the documents
    frappe.client.insert and insert_many carry. args: the query's and the body's."""
    m = re.match(r"^/api(?:/v1)?/(method|resource)/([^/?]+)", path)
    if not m:
        return set()
    if m.group(1) == "resource":
        return {m.group(2)}
    if m.group(2) in DOCTYPE_METHODS and isinstance(args, dict):
        return {args.get("doctype")} - {None}
    if m.group(2) == GET_POS_INVOICES:
        return {"POS Invoice"}
    body = args
    if m.group(2) not in ("frappe.client.insert", "frappe.client.insert_many") or not isinstance(body, dict):
        return set()
    docs = body.get("docs") if m.group(2).endswith("_many") else [body.get("doc")]
    try:
        if isinstance(docs, str):
            docs = json.loads(docs)
        docs = [json.loads(d) if isinstance(d, str) else d for d in docs or []]
    except (TypeError, ValueError):
        return set()    # the request itself fails on it
    return {d.get("doctype") for d in docs if isinstance(d, dict)}


def fault_matcher(site, method, path, doctypes):
    """Matches a fault rule's site, HTTP method, path (a regex on the decoded path with its
    query) and doctype (one of those the request reads or writes)."""
    def matches(rule):
        return ((not rule.get("site") or rule["site"] == site)
                and (not rule.get("method") or rule["method"].upper() == method)
                and (not rule.get("path") or re.search(rule["path"], path))
                and (not rule.get("doctype") or rule["doctype"] in doctypes))
    return matches


# ------------------------------------------------------------------------------ API handler

def server_messages(message, title="Message"):
    return json.dumps([json.dumps({"message": message, "title": title, "indicator": "red",
                                   "raise_exception": 1})])


def frappe_envelope(entry, payload):
    # both envelopes: /api/resource answers {"data": ...}, /api/method {"message": ...}
    return '{"data": %s, "message": %s}' % (payload, payload)


# nulls and wrong types where documents, names, lists and counts are expected; an error
# envelope with HTTP 200
MALFORMED = simcore.malformed_corpus(frappe_envelope, {
    "null": "null", "number": "5", "nulls": "[null, null]", "object": "{}",
    "wrong_rows": '[{"name": null}, {"name": 5, "company": ["x"]}]',
    "wrong_doc": '{"name": 5, "abbr": null, "accounts": {"company": 7}}',
}, {
    "error_200": lambda entry: {"exc_type": "ValidationError",
                                "exception": "frappe.exceptions.ValidationError: Injected with HTTP 200",
                                "_server_messages": server_messages("Injected error with HTTP 200")},
})


class ApiHandler(simcore.ApiHandler):
    server_version = "SimulatedFrappe/15"
    MALFORMED = MALFORMED

    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def do_PUT(self):
        self.handle_api("PUT")

    def do_DELETE(self):
        self.handle_api("DELETE")

    def authenticate(self, site):
        header = self.headers.get("Authorization")
        if header is None:
            return "Guest"
        parts = header.split(" ")
        if len(parts) != 2:
            return "Guest"
        scheme, token = parts[0].lower(), parts[1]
        if scheme == "basic":
            try:
                token = base64.b64decode(token, validate=True).decode()
            except Exception:
                raise FrappeError(400, "InvalidAuthorizationToken",
                                  "Failed to decode token, please provide a valid base64-encoded token.")
        elif scheme != "token":
            raise FrappeError(401, "AuthenticationError")
        key, _, secret = token.partition(":")
        creds = site.credentials or CONFIG
        if key != creds["api_key"] or secret != creds["api_secret"]:
            raise FrappeError(401, "AuthenticationError")
        return CONFIG["user"]

    def read_body(self):
        raw = self.read_raw_body()
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype == "application/json":
            data = json.loads(raw or b"{}")
        else:
            data = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
        if isinstance(data, dict) and "data" in data:
            inner = data["data"]
            data = json.loads(inner) if isinstance(inner, str) else inner
        return data

    def handle_api(self, method):
        parsed = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(parsed.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        site = site_for(self.headers.get("Host"))
        entry = simcore.log_request({
            "method": method, "path": parsed.path, "query": parsed.query, "site": site.host,
            "correlation_id": self.headers.get("X-Correlation-ID"),
            "content_type": self.headers.get("Content-Type"), "accept": self.headers.get("Accept"),
            "t_start": getattr(self, "received_at", time.time()), "fault": None, "status": None,
            "auth_ok": None})
        try:
            body = self.read_body() if method in ("POST", "PUT") else {}
        except (ValueError, json.JSONDecodeError):
            body = None
        doctypes = request_doctypes(path, {**query, **body} if isinstance(body, dict) else body)
        entry["doctype"] = ", ".join(sorted(d for d in doctypes if d)) or None
        full_path = path + ("?" + urllib.parse.unquote(parsed.query) if parsed.query else "")
        self.entry = entry

        def work():     # what a worker does
            self.wait_latency()
            fault = FAULTS.take(fault_matcher(site.host, method, full_path, doctypes),
                                f"{method} {full_path} {entry['doctype']}")
            self.answer(entry, fault, lambda: self.run(entry, site, method, path, query, body))
        self.admit(entry, site.host, work)

    # Frappe's rate limiter is the application's: it runs in a worker, and sends its
    # X-RateLimit-* headers on every answer while it is on
    LIMITER_BEFORE_WORKERS = False
    RATE_HEADERS = True

    def refusal_reply(self, gate, retry_after):
        """RateLimiter.reject's TooManyRequestsError: report_error(429) to a JSON request (no
        message logged, so no _server_messages), plain "Too Many Requests" to any other."""
        headers = [("Retry-After", str(retry_after))]
        accept = self.headers.get("Accept") or ""
        if "application/json" in accept or self.headers.get("X-Requested-With") == "XMLHttpRequest":
            return Reply(429, {"exc_type": "TooManyRequestsError"}, headers)
        return Reply(429, "Too Many Requests", headers, content_type="text/plain; charset=utf-8")

    def canned_reply(self, fault):
        if fault["action"] != "status":
            return None
        status = fault.get("status", 500)
        names = {429: "TooManyRequestsError", 417: "ValidationError", 409: "DuplicateEntryError",
                 404: "DoesNotExistError", 403: "PermissionError", 401: "AuthenticationError",
                 503: "SessionStopped"}
        exc = names.get(status, "Exception")
        headers = [("Retry-After", str(fault["retry_after"]))] if fault.get("retry_after") is not None else []
        return Reply(status, {"exc_type": exc, "_server_messages": server_messages(f"Injected {exc} ({status})")},
                     headers)

    def run(self, entry, site, method, path, query, body):
        try:
            user = self.authenticate(site)
            entry["auth_ok"] = user != "Guest"
            if body is None:
                raise validation("Request body is not valid JSON")
            with LOCK:
                return Reply(200, self.route(site, method, path, query, body, user))
        except FrappeError as e:
            payload = {"exc_type": e.exc_type}
            if e.message and e.status != 401:
                payload["_server_messages"] = server_messages(e.message, e.title)
            return Reply(e.status, payload)

    def route(self, site, method, path, query, body, user):
        m = re.match(r"^/api(?:/v1)?/(method|resource)/(.+?)/?$", path)
        if not m:
            raise FrappeError(404, "DoesNotExistError", "Page not found")
        kind, rest = m.groups()
        if kind == "method":
            return self.call_method(site, method, rest, {**query, **(body or {})}, user)
        if user == "Guest":
            raise FrappeError(403, "PermissionError", "You are not permitted to access this resource.")
        doctype, _, name = rest.partition("/")
        if doctype not in KNOWN_DOCTYPES:
            raise FrappeError(404, "DoesNotExistError", f"DocType {doctype} not found")
        if not name:
            if method == "GET":
                return {"data": get_list(site.table(doctype).values(), query)}
            if method == "POST":
                return {"data": insert(site, doctype, body)}
            raise FrappeError(405, "PermissionError", "Not permitted")
        doc = site.get(doctype, name)
        if method == "GET":
            if doc is None:
                raise FrappeError(404, "DoesNotExistError", f"{doctype} {name} not found")
            return {"data": without_nulls(doc)}
        if method == "PUT":
            return {"data": update(site, doctype, name, body)}
        if method == "DELETE":
            if doc is None:
                raise FrappeError(404, "DoesNotExistError", f"{doctype} {name} not found")
            del site.table(doctype)[name]
            return {"data": "ok"}
        if method == "POST" and body.get("run_method") in ("submit", "cancel"):
            if doc is None:
                raise FrappeError(404, "DoesNotExistError", f"{doctype} {name} not found")
            return {"data": update(site, doctype, name, {"docstatus": 1 if body["run_method"] == "submit" else 2})}
        raise FrappeError(417, "ValidationError", "Method not allowed on document")

    def call_method(self, site, method, name, args, user):
        if name == "ping":
            return {"message": "pong"}
        if user == "Guest":
            raise FrappeError(403, "PermissionError", f"Function {name} is not whitelisted.")
        if name == "frappe.auth.get_logged_user":
            return {"message": user}
        if name in DOCTYPE_METHODS:
            doctype = args.get("doctype")
            if doctype not in KNOWN_DOCTYPES:
                raise FrappeError(404, "DoesNotExistError", f"DocType {doctype} not found")
            docs = site.table(doctype).values()
            if name == "frappe.client.get_count":
                conditions = parse_filters(args.get("filters"))
                return {"message": sum(1 for d in docs if matches(d, conditions))}
            if name == "frappe.client.get_list":
                return {"message": get_list(docs, args)}
            doc = site.get(doctype, args.get("name"))
            if doc is None:
                raise FrappeError(404, "DoesNotExistError", f"{doctype} {args.get('name')} not found")
            return {"message": without_nulls(doc)}
        if name == GET_POS_INVOICES:
            missing = [a for a in ("start", "end", "pos_profile", "user") if a not in args]
            if missing:
                raise FrappeError(500, "TypeError", f"get_pos_invoices() missing required positional arguments: "
                                                    f"{', '.join(missing)}")
            return {"message": [without_nulls(d) for d in erpnext_pos.get_pos_invoices(
                site, args["start"], args["end"], args["pos_profile"], args["user"])]}
        if name in NOT_WHITELISTED:
            raise FrappeError(403, "PermissionError", f"Function {name} is not whitelisted.", "Method Not Allowed")
        if name == "frappe.client.insert" and method == "POST":
            doc = args.get("doc")
            doc = json.loads(doc) if isinstance(doc, str) else doc
            if doc.get("doctype") == "Mode of Payment Account":
                parent = site.get(doc.get("parenttype", "Mode of Payment"), doc.get("parent"))
                if parent is None:
                    raise validation(f"Could not find Mode of Payment: {doc.get('parent')}", "LinkValidationError")
                account = site.get("Account", doc.get("default_account"))
                if account is None or account["company"] != doc.get("company"):
                    raise validation("Account does not match with Company")
                if any(r["company"] == doc["company"] for r in parent["accounts"]):
                    raise validation("Same Company is entered more than once")
                # a child row is named with a random hash, as Frappe names rows
                row = {"name": uuid.uuid4().hex[:10], "company": doc["company"],
                       "default_account": doc["default_account"]}
                parent["accounts"].append(row)
                return {"message": {**doc, "name": row["name"]}}
            return {"message": insert(site, doc.get("doctype"), doc)}
        if name == "frappe.client.insert_many" and method in ("POST", "PUT"):
            return {"message": insert_many(site, args.get("docs"))}
        raise validation(f"Failed to get method for command {name} with No module named '{name}'")


# ------------------------------------------------------------------------------ control API

class ControlHandler(simcore.ControlHandler):
    scope = "site"

    def scope_key(self, value):
        return value.split(":")[0].lower() if value else None

    def control_get(self, path, q):
        site = site_for(q.get("site"))
        if path == "/count":
            conditions = parse_filters(q.get("filters"))
            return {"count": sum(1 for d in site.table(q["doctype"]).values() if matches(d, conditions))}
        if path == "/docs":
            return {"data": list(site.table(q["doctype"]).values())}
        if path == "/summary":
            summary = {dt: len(site.table(dt)) for dt in SUMMARY_DOCTYPES}
            summary["Stock Settings"] = {k: site.get("Stock Settings", "Stock Settings").get(k) for k in
                                         ("default_warehouse", "valuation_method", "stock_uom",
                                          "allow_negative_stock")}
            summary["Selling Settings"] = {k: site.get("Selling Settings", "Selling Settings").get(k) for k in
                                           ("customer_group", "territory", "selling_price_list")}
            return summary
        return None

    def control_post(self, path, body):
        if path == "/reset":
            if body.get("site"):
                SITES.pop(body["site"].lower(), None)
                simcore.CAPACITY.reset(self.scope_key(body["site"]))
            else:
                SITES.clear()
                simcore.forget_everything()
            return {"ok": True}
        m = re.match(r"^/sites/([^/]+)/credentials$", path)
        if m:
            site_for(m.group(1)).credentials = {"api_key": body["api_key"], "api_secret": body["api_secret"]}
            return {"ok": True}
        m = re.match(r"^/sites/([^/]+)/scheduler$", path)
        if m:
            scheduler = site_for(m.group(1)).scheduler
            scheduler.update({k: body[k] for k in ("enabled", "delay_ms") if k in body})
            return scheduler
        if path == "/pos-sales":
            site = site_for(body.get("site"))
            try:
                made = erpnext_pos.make_sales(site, body.get("company"), int(body.get("count", 1)), body.get("seed"),
                                              int(body.get("docstatus", 1)))
            except ValueError as e:
                raise simcore.ControlError(409, str(e))
            except FrappeError as e:
                raise simcore.ControlError(409, f"{e.exc_type}: {e.message}")
            return {"site": site.host, "count": len(made["invoices"]), **made}
        return None


def main():
    parser = argparse.ArgumentParser(description="Simulated ERPNext for tests")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--api-key", default="simkey")
    parser.add_argument("--api-secret", default="simsecret")
    parser.add_argument("--user", default="Administrator")
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    CONFIG.update(api_key=args.api_key, api_secret=args.api_secret, user=args.user)
    simcore.serve(ApiHandler, ControlHandler, args.port, args.control_port, args.ready_file)


if __name__ == "__main__":
    main()
