"""The simulated ERPNext's point of sale (erpnext_sim.py), as ../shared/reference/lifecycle-api.md
(A) and erpnext-api.md (3.6, 3.7) describe ERPNext v15:

  * POS Profile: Prompt naming, one default payment, a Mode of Payment Account for the company;
    it cannot be disabled while an Open POS Opening Entry exists for it;
  * POS Opening Entry: a disabled profile opens none; one Open entry per profile and per user;
    status Draft / Open / Closed / Cancelled;
  * POS Invoice (and Sales Invoice with is_pos) with its items and payments rows: it needs an
    Open opening entry for its profile; disabled customers, items and warehouses are refused;
  * POS Closing Entry: the client sends the rows (pos_transactions, payment_reconciliation,
    taxes); the fetch_from fields are overwritten from the opening entry; it refuses an opening
    entry that is not Open, duplicate and invalid invoices; on submit the invoices are merged
    into one consolidated Sales Invoice per customer, inline under 10 invoices, else Queued and
    merged by a background job (which needs the scheduler), and only then is the opening entry
    Closed; cancelling it undoes the merge and reopens the opening entry;
  * the whitelisted get_pos_invoices(start, end, pos_profile, user);
  * point-of-sale sales made by the control API (make_sales) in a company's open session.
"""

import datetime
import random
import threading
import uuid

from frappe_doc import FrappeError, as_list, bold, duplicate, now, require, require_link, stamp, validation
from simcore import LOCK

INVOICE_SERIES = {"POS Invoice": "ACC-PSINV-", "Sales Invoice": "ACC-SINV-"}
ITEM_TABLES = {"POS Invoice": "POS Invoice Item", "Sales Invoice": "Sales Invoice Item"}
QUEUE_FROM = 10     # consolidate_pos_invoices enqueues the merge from this many invoices on


def link(site, doctype, name, label=None):
    """The linked document, or Frappe's LinkValidationError; a cancelled one cannot be linked."""
    doc = site.get(doctype, name)
    if doc is None:
        raise validation(f"Could not find {label or doctype}: {name}", "LinkValidationError")
    if doc.get("docstatus") == 2:
        raise validation(f"Cannot link cancelled document: {doctype} {name}", "CancelledLinkError")
    return doc


def child_rows(parent, field, doctype, rows):
    """Child rows as Frappe stores them: named with a random hash, numbered from 1."""
    return [{**row, "name": row.get("name") or uuid.uuid4().hex[:10], "doctype": doctype, "parent": parent["name"],
             "parentfield": field, "parenttype": parent["doctype"], "idx": i, "docstatus": parent["docstatus"]}
            for i, row in enumerate(rows, 1)]


def today():
    return now().strftime("%Y-%m-%d")


def time_now():
    return now().strftime("%H:%M:%S.%f")


# ------------------------------------------------------------------------------ POS Profile

def insert_pos_profile(site, doc):
    name = doc.pop("__newname", None) or doc.get("name")
    if not name:
        raise validation("Please set the name of the POS Profile (naming is set to Prompt)")
    require(doc, "POS Profile", "company", "warehouse", "payments", "currency", "write_off_account",
            "write_off_cost_center")
    company = doc["company"]
    require_link(site, "Company", company, "Company")
    require_link(site, "Customer", doc.get("customer"), "Customer")
    defaults = [p for p in doc["payments"] if p.get("default")]
    if not defaults:
        raise validation("Please select a default mode of payment")
    if len(defaults) > 1:
        raise validation("You can only select one mode of payment as default")
    for p in doc["payments"]:
        mop = site.get("Mode of Payment", p.get("mode_of_payment"))
        if mop is None or not any(r["company"] == company for r in mop["accounts"]):
            raise validation(f"Please set default Cash or Bank account in Mode of Payment(s) {p.get('mode_of_payment')}")
    for doctype, field in [("Warehouse", "warehouse"), ("Account", "write_off_account"),
                           ("Cost Center", "write_off_cost_center")]:
        linked = site.get(doctype, doc[field])
        if linked is None:
            raise validation(f"Could not find {doctype}: {doc[field]}", "LinkValidationError")
        if linked.get("company") != company:
            raise validation(f"{doctype} {doc[field]} does not belong to Company {company}")
    if site.get("POS Profile", name):
        raise duplicate("POS Profile", name)
    doc["name"] = name
    doc.setdefault("disabled", 0)
    return site.put("POS Profile", doc)


def update_pos_profile(site, old, merged):
    """validate_disabled: no disabling while a session of the profile is open."""
    if merged.get("disabled") and not old.get("disabled") and any(
            e["pos_profile"] == old["name"] for e in open_entries(site)):
        raise validation(f"POS Profile {old['name']} cannot be disabled as there are ongoing POS sessions.")


# ------------------------------------------------------------------------------ POS Opening Entry

def open_entries(site):
    return [e for e in site.table("POS Opening Entry").values()
            if e["docstatus"] == 1 and not e.get("pos_closing_entry")]


def validate_opening_entry(site, doc):
    require(doc, "POS Opening Entry", "period_start_date", "posting_date", "company", "pos_profile", "user",
            "balance_details")
    profile = site.get("POS Profile", doc["pos_profile"])
    if profile is None:
        raise validation(f"Could not find POS Profile: {doc['pos_profile']}", "LinkValidationError")
    if profile.get("disabled"):
        raise validation(f"POS Profile {profile['name']} is disabled.")
    if profile["company"] != doc["company"]:
        raise validation(f"POS Profile {profile['name']} does not belong to company {doc['company']}")
    user = site.get("User", doc["user"])
    if user is None or not user.get("enabled"):
        raise validation(f"User {doc['user']} is disabled. Please select valid user/cashier")
    for row in doc["balance_details"]:
        mop = site.get("Mode of Payment", row.get("mode_of_payment"))
        if mop is None or not any(r["company"] == doc["company"] for r in mop["accounts"]):
            raise validation(f"Please set default Cash or Bank account in Mode of Payment {row.get('mode_of_payment')}")
    if doc.get("docstatus") == 1:
        if any(e["pos_profile"] == doc["pos_profile"] for e in open_entries(site) if e["name"] != doc.get("name")):
            raise validation("POS Opening Entry Exists")
        if any(e["user"] == doc["user"] for e in open_entries(site) if e["name"] != doc.get("name")):
            raise validation("Cashier is currently assigned to another POS")


def set_opening_status(doc):
    doc["status"] = {0: "Draft", 1: "Open", 2: "Cancelled"}[doc["docstatus"]]
    if doc["docstatus"] == 1 and doc.get("pos_closing_entry"):
        doc["status"] = "Closed"


def insert_opening_entry(site, doc):
    doc["docstatus"] = int(doc.get("docstatus") or 0)
    validate_opening_entry(site, doc)
    doc["name"] = site.next_in_series(f"POS-OPE-{now().year}-")
    doc.setdefault("pos_closing_entry", None)
    set_opening_status(doc)
    return site.put("POS Opening Entry", doc)


def update_opening_entry(site, old, merged):
    if old["docstatus"] == 1 and merged["docstatus"] != 1:
        raise validation("Cannot change docstatus from 1 to 0", "DocstatusTransitionError")
    if merged["docstatus"] == 1 and old["docstatus"] == 0:
        validate_opening_entry(site, merged)
    set_opening_status(merged)


# ------------------------------------------------------------------------------ invoices

def check_party(site, customer):
    """validate_party_frozen_disabled."""
    if link(site, "Customer", customer).get("disabled"):
        raise validation(f"Customer {customer} is disabled", "PartyDisabled")


def check_warehouse(site, name):
    """erpnext.stock.utils.validate_disabled_warehouse."""
    if name and link(site, "Warehouse", name).get("disabled"):
        raise validation(f"Disabled Warehouse {bold(name)} cannot be used for this transaction.")


def invoice_totals(site, doc, doctype, warehouse):
    """Checks an invoice's items and payments and fills its amounts: amount = qty x rate."""
    require(doc, doctype, "company", "customer", "items")
    require_link(site, "Company", doc["company"], "Company")
    check_party(site, doc["customer"])
    items = []
    for row in doc["items"]:
        require(row, ITEM_TABLES[doctype], "item_code", "qty")
        check_item(site, row["item_code"])
        item = site.get("Item", row["item_code"])
        row = {**row, "item_name": row.get("item_name") or item.get("item_name"),
               "warehouse": row.get("warehouse") or warehouse,
               "rate": float(row.get("rate") if row.get("rate") is not None else item.get("standard_rate") or 0)}
        check_warehouse(site, row["warehouse"])
        row["amount"] = round(float(row["qty"]) * row["rate"], 2)
        items.append(row)
    payments = [{**p, "amount": float(p.get("amount") or 0)} for p in doc.get("payments") or []]
    if doc.get("is_pos") and not payments:
        raise validation("At least one mode of payment is required for POS invoice.")
    for p in payments:
        require(p, "Sales Invoice Payment", "mode_of_payment")
        link(site, "Mode of Payment", p["mode_of_payment"])
    total = round(sum(r["amount"] for r in items), 2)
    doc.update(items=items, payments=payments, total_qty=sum(float(r["qty"]) for r in items), total=total,
               net_total=total, grand_total=total, rounded_total=total,
               paid_amount=round(sum(p["amount"] for p in payments), 2))
    doc.setdefault("posting_date", today())
    doc.setdefault("posting_time", time_now())


def store_invoice(site, doctype, doc):
    doc["docstatus"] = int(doc.get("docstatus") or 0)
    doc["name"] = site.next_in_series(f"{INVOICE_SERIES[doctype]}{now().year}-")
    doc["doctype"] = doctype
    doc["status"] = {0: "Draft", 1: "Paid" if doc.get("is_pos") else "Unpaid", 2: "Cancelled"}[doc["docstatus"]]
    doc["items"] = child_rows(doc, "items", ITEM_TABLES[doctype], doc["items"])
    doc["payments"] = child_rows(doc, "payments", "Sales Invoice Payment", doc["payments"])
    doc.setdefault("taxes", [])
    return site.put(doctype, doc)


def insert_pos_invoice(site, doc):
    require(doc, "POS Invoice", "pos_profile")
    profile = link(site, "POS Profile", doc["pos_profile"])
    doc["is_pos"] = 1
    doc.setdefault("currency", profile.get("currency"))
    invoice_totals(site, doc, "POS Invoice", profile["warehouse"])
    if not any(e["pos_profile"] == profile["name"] for e in open_entries(site)):
        raise validation(f"No open POS Opening Entry found for POS Profile {profile['name']}.",
                         title="POS Opening Entry Missing")
    doc["consolidated_invoice"] = None
    return store_invoice(site, "POS Invoice", doc)


def insert_sales_invoice(site, doc):
    doc["is_pos"] = int(doc.get("is_pos") or 0)
    profile = link(site, "POS Profile", doc["pos_profile"]) if doc.get("pos_profile") else {}
    invoice_totals(site, doc, "Sales Invoice", profile.get("warehouse"))
    doc.setdefault("is_consolidated", 0)
    return store_invoice(site, "Sales Invoice", doc)


def timestamp(doc):
    return datetime.datetime.fromisoformat(f"{doc['posting_date']} {doc['posting_time']}")


def get_pos_invoices(site, start, end, pos_profile, user):
    """The whitelisted pos_closing_entry.get_pos_invoices: the user's submitted, unconsolidated
    invoices of the profile posted between start and end, with their child rows."""
    start, end = (datetime.datetime.fromisoformat(str(t)) for t in (start, end))
    return sorted((d for d in site.table("POS Invoice").values()
                   if d["owner"] == user and d["docstatus"] == 1 and d["pos_profile"] == pos_profile
                   and not d.get("consolidated_invoice") and start <= timestamp(d) <= end), key=timestamp)


# ------------------------------------------------------------------------------ POS Closing Entry

def validate_closing_entry(site, doc):
    """The fetch_from fields come from the opening entry, the invoice rows' from each invoice;
    then validate(): an Open opening entry, no duplicate and no invalid invoices."""
    require(doc, "POS Closing Entry", "pos_opening_entry", "company")
    require_link(site, "Company", doc["company"], "Company")
    opening = link(site, "POS Opening Entry", doc["pos_opening_entry"])
    doc.update({f: opening[f] for f in ("period_start_date", "pos_profile", "user")})
    doc.setdefault("period_end_date", now().strftime("%Y-%m-%d %H:%M:%S"))
    doc.setdefault("posting_date", today())
    doc.setdefault("posting_time", time_now())
    for row in doc.get("payment_reconciliation") or []:
        require(row, "POS Closing Entry Detail", "mode_of_payment")
        link(site, "Mode of Payment", row["mode_of_payment"])
        for field in ("opening_amount", "closing_amount", "expected_amount", "difference"):
            row[field] = float(row.get(field) or 0)
    for row in doc.get("pos_transactions") or []:
        require(row, "POS Invoice Reference", "pos_invoice")
        invoice = link(site, "POS Invoice", row["pos_invoice"])
        row.update({f: invoice.get(f) for f in ("customer", "posting_date", "grand_total", "is_return",
                                                "return_against")})
    if opening["status"] != "Open":
        raise validation("Selected POS Opening Entry should be open.", title="Invalid Opening Entry")
    rows_of = {}
    for idx, row in enumerate(doc.get("pos_transactions") or [], 1):
        rows_of.setdefault(row["pos_invoice"], []).append(idx)
    repeated = [f"{bold(name)} is added multiple times on rows: {bold(rows)}" for name, rows in rows_of.items()
                if len(rows) > 1]
    if repeated:
        raise validation(as_list(repeated), title="Duplicate POS Invoices found")
    invalid = []
    for idx, row in enumerate(doc.get("pos_transactions") or [], 1):
        invoice = site.get("POS Invoice", row["pos_invoice"])
        if invoice.get("consolidated_invoice"):
            invalid.append(f"Row #{idx}: POS Invoice is already consolidated")
            continue
        if invoice["pos_profile"] != doc["pos_profile"]:
            invalid.append(f"Row #{idx}: POS Profile doesn't match {bold(doc['pos_profile'])}")
        if invoice["docstatus"] != 1:
            invalid.append(f"Row #{idx}: POS Invoice is not submitted")
        if invoice["owner"] != doc["user"]:
            invalid.append(f"Row #{idx}: POS Invoice isn't created by user {bold(doc['user'])}")
    if invalid:
        raise validation(as_list(invalid), title="Invalid POS Invoices")


def closing_invoices(site, closing):
    return [site.get("POS Invoice", r["pos_invoice"]) for r in closing.get("pos_transactions") or []]


def check_item(site, code):
    if link(site, "Item", code).get("disabled"):
        raise validation(f"Item {code} is disabled")


def check_mergeable(site, invoices):
    """What the merge's Sales Invoices would refuse (derived: they are validated as any
    invoice): disabled customers, items and warehouses."""
    for invoice in invoices:
        check_party(site, invoice["customer"])
        for row in invoice["items"]:
            check_item(site, row["item_code"])
            check_warehouse(site, row.get("warehouse"))


def check_submit(site, closing):
    """Before a closing entry is submitted: under QUEUE_FROM invoices the merge runs inline and
    must succeed (an error rolls the submit back); from QUEUE_FROM on it needs the scheduler."""
    invoices = closing_invoices(site, closing)
    if len(invoices) < QUEUE_FROM:
        check_mergeable(site, invoices)
    elif not site.scheduler["enabled"]:
        raise validation("Scheduler is inactive. Cannot enqueue job.")


def submit_closing(site, closing):
    """on_submit: consolidate_pos_invoices, inline or queued."""
    if len(closing.get("pos_transactions") or []) < QUEUE_FROM:
        merge(site, closing)
        return
    closing["status"] = "Queued"

    def job():
        with LOCK:
            if closing["status"] != "Queued" or site.get("POS Closing Entry", closing["name"]) is not closing:
                return
            try:
                check_mergeable(site, closing_invoices(site, closing))
            except FrappeError as e:
                closing.update(status="Failed", error_message=e.message)
                return
            merge(site, closing)
    timer = threading.Timer(site.scheduler["delay_ms"] / 1000.0, job)
    timer.daemon = True
    timer.start()


def merge(site, closing):
    """create_merge_logs: one consolidated Sales Invoice per customer, the invoices marked
    consolidated, the closing entry Submitted and the opening entry Closed."""
    by_customer = {}
    for invoice in closing_invoices(site, closing):
        by_customer.setdefault(invoice["customer"], []).append(invoice)
    for customer, invoices in by_customer.items():
        first = invoices[0]
        sales = insert_sales_invoice(site, {
            "company": first["company"], "customer": customer, "pos_profile": first["pos_profile"],
            "currency": first.get("currency"), "is_pos": 1, "is_consolidated": 1, "docstatus": 1,
            "posting_date": closing["posting_date"], "posting_time": closing["posting_time"],
            "items": [{k: r[k] for k in ("item_code", "item_name", "qty", "rate", "warehouse")}
                      for i in invoices for r in i["items"]],
            "payments": [{"mode_of_payment": m, "amount": sum(p["amount"] for i in invoices for p in i["payments"]
                                                               if p["mode_of_payment"] == m)}
                         for m in dict.fromkeys(p["mode_of_payment"] for i in invoices for p in i["payments"])]})
        for invoice in invoices:
            invoice.update(consolidated_invoice=sales["name"], status="Consolidated", modified=stamp())
    closing.update(status="Submitted", error_message=None)
    set_closing_on_opening(site, closing, closing["name"])


def set_closing_on_opening(site, closing, name):
    """update_opening_entry: the opening entry's pos_closing_entry and status."""
    opening = site.get("POS Opening Entry", closing["pos_opening_entry"])
    opening.update(pos_closing_entry=name, modified=stamp())
    set_opening_status(opening)


def cancel_closing(site, closing):
    """on_cancel: the consolidated Sales Invoices cancelled, the invoices unconsolidated, the
    opening entry Open again."""
    for invoice in closing_invoices(site, closing):
        sales = site.get("Sales Invoice", invoice.get("consolidated_invoice"))
        if sales is not None:
            sales.update(docstatus=2, status="Cancelled", modified=stamp())
        invoice.update(consolidated_invoice=None, status="Paid", modified=stamp())
    set_closing_on_opening(site, closing, None)
    closing["status"] = "Cancelled"


def insert_closing_entry(site, doc):
    doc["docstatus"] = int(doc.get("docstatus") or 0)
    validate_closing_entry(site, doc)
    if doc["docstatus"] == 1:
        check_submit(site, doc)
    doc["name"] = site.next_in_series(f"POS-CLO-{now().year}-")
    doc["doctype"] = "POS Closing Entry"
    for field, child in (("payment_reconciliation", "POS Closing Entry Detail"),
                         ("pos_transactions", "POS Invoice Reference"), ("taxes", "POS Closing Entry Taxes")):
        doc[field] = child_rows(doc, field, child, doc.get(field) or [])
    doc.update(status="Draft", error_message=None,
               grand_total=round(sum(float(r.get("grand_total") or 0) for r in doc["pos_transactions"]), 2))
    closing = site.put("POS Closing Entry", doc)
    if closing["docstatus"] == 1:
        submit_closing(site, closing)
    return closing


def update_closing_entry(site, old, merged):
    """A draft is validated again (and submitted with docstatus 1); a submitted one can only be
    cancelled. Returns what to do once the document is saved."""
    if old["docstatus"] == 0 and merged["docstatus"] in (0, 1):
        validate_closing_entry(site, merged)
        if merged["docstatus"] == 1:
            check_submit(site, merged)
            return lambda doc: submit_closing(site, doc)
        return None
    if old["docstatus"] == 1 and merged["docstatus"] == 2:
        return lambda doc: cancel_closing(site, doc)
    if old["docstatus"] == 1 and merged["docstatus"] == 1:
        return None
    raise validation(f"Cannot change docstatus from {old['docstatus']} to {merged['docstatus']}",
                     "DocstatusTransitionError")


# ------------------------------------------------------------------------------ sales for tests

def make_sales(site, company, count, seed=None, docstatus=1):
    """count POS Invoices in the company's open session, made by its cashier: 1-3 lines of
    enabled items each at their standard rate, paid in full with the profile's default mode of
    payment. Raises ValueError saying what is missing."""
    opening = next((e for e in open_entries(site) if e["company"] == company), None)
    if opening is None:
        raise ValueError(f"no open POS Opening Entry for company {company!r} on site {site.host}")
    profile = site.get("POS Profile", opening["pos_profile"])
    items = [i for i in site.table("Item").values() if not i.get("disabled")]
    customer = profile.get("customer")
    if not items or not customer:
        raise ValueError(f"POS Profile {profile['name']} needs a customer and the site enabled items")
    mode = next(p["mode_of_payment"] for p in profile["payments"] if p.get("default"))
    rng = random.Random(seed)
    names = []
    for _ in range(count):
        lines = [{"item_code": item["item_code"], "qty": rng.randint(1, 5),
                  "rate": float(item.get("standard_rate") or 1.0)} for item in rng.sample(items, min(len(items),
                                                                                              rng.randint(1, 3)))]
        total = round(sum(line["qty"] * line["rate"] for line in lines), 2)
        invoice = insert_pos_invoice(site, {"company": company, "pos_profile": profile["name"],
                                            "customer": customer, "owner": opening["user"], "docstatus": docstatus,
                                            "items": lines, "payments": [{"mode_of_payment": mode, "amount": total}]})
        names.append(invoice["name"])
    return {"opening_entry": opening["name"], "pos_profile": profile["name"], "invoices": names}
