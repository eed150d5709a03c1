"""The simulated Odoo's point-of-sale sessions and orders (odoo_sim.py), as
../shared/reference/lifecycle-api.md (B1, B3) describes 16, 17 and 18:

  * pos.session: opening_control -> opened -> closing_control -> closed; the public closing
    methods (action_pos_session_closing_control, action_pos_session_validate/_close,
    close_session_from_ui, post_closing_cash_details, update_closing_control_state_session,
    get_closing_control_data) with their refusals: draft orders, an already closed session, a
    cash difference or bank difference without the journal's loss/profit account;
  * pos.order with its lines (pos.order.line) and payments (pos.payment), read page by page;
  * point-of-sale sales made by the control API (make_sales) in a company's opened session.

Standard library only; the ORM is odoo_orm.py.
"""

import datetime
import random

from odoo_orm import (MODELS, Model, boolean, char, many2many, many2one, number, one2many, rpc, selection,
                      user_error, validation_error)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ensure_one(model, recs):
    if len(recs) != 1:
        raise ValueError(f"Expected singleton: {model.name}({', '.join(str(r['id']) for r in recs)})")
    return recs[0]


def check_cash_journals(env, config):
    """Cash differences are posted to the cash journal's profit and loss accounts."""
    for m in config["payment_method_ids"]:
        method = env.db.get("pos.payment.method", m)
        journal = env.db.get("account.journal", method["journal_id"]) if method["journal_id"] else None
        if journal and journal["type"] == "cash" and not (journal["profit_account_id"] and journal["loss_account_id"]):
            raise validation_error("You need a loss and profit account on your cash journal.")


def method_journal(env, method_id):
    method = env.db.get("pos.payment.method", method_id)
    return env.db.get("account.journal", method["journal_id"]) if method and method["journal_id"] else None


def cash_method(env, session):
    """The session's cash payment method (its config's, on a cash journal), or None."""
    config = env.db.get("pos.config", session["config_id"])
    return next((env.db.get("pos.payment.method", m) for m in config["payment_method_ids"]
                 if (method_journal(env, m) or {}).get("type") == "cash"), None)


def session_payments(env, session, method_id):
    return sum(p["amount"] for p in env.db.table("pos.payment").values()
               if p["session_id"] == session["id"] and p["payment_method_id"] == method_id)


def opening_cash(env, session):
    """The expected cash's start: the previous closed session's counted cash in 16/17, this
    session's starting balance in 18."""
    if env.version >= 18:
        return session["cash_register_balance_start"]
    previous = [s for s in env.db.where("pos.session", config_id=session["config_id"], state="closed")
                if s["id"] != session["id"]]
    return previous[-1]["cash_register_balance_end_real"] if previous else 0.0


def expected_cash(env, session):
    method = cash_method(env, session)
    return round(session["cash_register_balance_start"] + (session_payments(env, session, method["id"])
                                                           if method else 0.0), 2)


class PosSession(Model):
    name, description = "pos.session", "Point of Sale Session"
    field_defs = {
        "name": char("Session ID"),
        "config_id": many2one("pos.config", "Point of Sale", required=True),
        "company_id": many2one("res.company", "Company"),       # related config_id.company_id, stored
        "user_id": many2one("res.users", "Opened By", default=lambda env, vals: env.uid),
        "state": selection("Status", ["opening_control", "opened", "closing_control", "closed"],
                           default="opening_control"),
        "start_at": char("Opening Date"), "stop_at": char("Closing Date"),
        "rescue": boolean("Recovery Session", default=False),
        "cash_register_balance_start": number("Starting Balance", "float", default=0.0),
        "cash_register_balance_end_real": number("Ending Balance", "float", default=0.0),
        "cash_register_balance_end": number("Theoretical Closing Balance", "float", compute=expected_cash),
        "cash_register_difference": number("Before Closing Difference", "float", compute=lambda env, rec: round(
            rec["cash_register_balance_end_real"] - expected_cash(env, rec), 2)),
        "cash_journal_id": many2one("account.journal", "Cash Journal", compute=lambda env, rec: (
            cash_method(env, rec) or {}).get("journal_id", False)),
        "opening_notes": char("Opening Notes"),
        "closing_notes": char("Closing Notes", versions=(17, 18)),
        "order_ids": one2many("pos.order", "session_id", "Orders"),
    }

    def clean(self, env, vals, operation):
        vals = super().clean(env, vals, operation)
        if vals.get("config_id"):
            config = MODELS["pos.config"].browse(env, vals["config_id"])[0]
            vals["company_id"] = config["company_id"]
        return vals

    def constrain(self, env, rec):
        if sum(1 for s in env.db.where("pos.session", config_id=rec["config_id"], rescue=False)
               if s["state"] != "closed") > 1:
            raise validation_error("Another session is already opened for this point of sale.")

    def after_create(self, env, rec):
        # action_pos_session_open: cash control waits for the opening cash count
        config = env.db.get("pos.config", rec["config_id"])
        rec["name"] = f"POS/{rec['id']:05d}"
        rec["start_at"] = utc_now()
        rec["state"] = "opening_control" if MODELS["pos.config"].all_fields["cash_control"].compute(
            env, config) else "opened"

    @rpc("records")
    def set_cashbox_pos(self, env, ids, cashbox_value, notes):
        for session in self.browse(env, ids, "write"):
            if cashbox_value:       # a difference with the last closing balance (0) is posted
                check_cash_journals(env, env.db.get("pos.config", session["config_id"]))
            session.update(state="opened", cash_register_balance_start=cashbox_value, opening_notes=notes)
        return None

    # -------------------------------------------------------------- closing

    def orders(self, env, session):
        return env.db.where("pos.order", session_id=session["id"])

    def drafts(self, env, session):
        return [o for o in self.orders(env, session) if o["state"] == "draft"]

    def cannot_close(self, env, session, bank_diffs=None):
        """_cannot_close_session: a failure dict, or None."""
        failure = None
        if self.drafts(env, session):
            failure = {"successful": False, "message": "You cannot close the POS when orders are still in draft",
                       "redirect": False}
        elif session["state"] == "closed" and env.version == 16:
            failure = {"successful": False, "message": "This session is already closed.", "redirect": True}
        elif session["state"] == "closed":
            failure = {"successful": False, "type": "alert", "title": "Session already closed",
                       "message": "The session has been already closed by another User. All sales completed in the "
                                  "meantime have been saved in a Rescue Session, which can be reviewed anytime and "
                                  "posted to Accounting from Point of Sale's dashboard.", "redirect": True}
        else:
            missing = {"loss": [], "profit": []}
            for method_id, diff in (bank_diffs or {}).items():
                journal = method_journal(env, int(method_id))
                kind = "loss" if diff < 0 else "profit"
                if diff and journal and not journal[f"{kind}_account_id"]:
                    missing[kind].append(journal["name"])
            if missing["loss"] or missing["profit"]:
                failure = {"successful": False, "redirect": False, "message": "".join(
                    [f"Need loss account for the following journals to post the lost amount: "
                     f"{', '.join(missing['loss'])}\n"] * bool(missing["loss"])
                    + [f"Need profit account for the following journals to post the gained amount: "
                       f"{', '.join(missing['profit'])}"] * bool(missing["profit"]))}
        if failure and env.version >= 18:
            failure["open_order_ids"] = [o["id"] for o in self.drafts(env, session)]
        return failure

    def validate_session(self, env, session):
        """_validate_session: with orders, refuses a closed session and draft orders; posts the
        cash difference (the journal's loss or profit account); the session is closed, its paid
        orders done."""
        orders = [o for o in self.orders(env, session) if env.version == 16 or o["state"] != "cancel"]
        if orders:
            if session["state"] == "closed":
                raise user_error("This session is already closed.")
            drafts = self.drafts(env, session)
            if drafts:
                raise user_error("There are still orders in draft state in the session. Pay or cancel the following "
                                 f"orders to validate the session:\n{', '.join(o['name'] for o in drafts)}")
        difference = self.all_fields["cash_register_difference"].compute(env, session)
        journal = env.db.get("account.journal", self.all_fields["cash_journal_id"].compute(env, session))
        if difference and journal:
            kind = "Loss" if difference < 0 else "Profit"
            if not journal[f"{kind.lower()}_account_id"]:
                raise user_error(f"Please go on the {journal['name']} journal and define a {kind} Account. This "
                                 "account will be used to record cash difference.")
        for order in orders:
            if order["state"] == "paid":
                order["state"] = "done"
        session["state"] = "closed"
        return True

    @rpc("records")
    def action_pos_session_closing_control(self, env, ids, balancing_account=False, amount_to_balance=0,
                                           bank_payment_method_diffs=None):
        """Returns after the first session (pass one id); an opening_control session closes too."""
        for session in self.browse(env, ids, "write"):
            if self.drafts(env, session):
                raise user_error("You cannot close the POS when orders are still in draft")
            if session["state"] == "closed":
                raise user_error("This session is already closed.")
            stop_at = utc_now() if env.version == 16 else session["stop_at"] or utc_now()
            session.update(state="closing_control", stop_at=stop_at)
            return self.validate_session(env, session)
        return None

    @rpc("records")
    def action_pos_session_validate(self, env, ids, balancing_account=False, amount_to_balance=0,
                                    bank_payment_method_diffs=None):
        return self.validate_session(env, ensure_one(self, self.browse(env, ids, "write")))

    @rpc("records")
    def action_pos_session_close(self, env, ids, balancing_account=False, amount_to_balance=0,
                                 bank_payment_method_diffs=None):
        return self.validate_session(env, ensure_one(self, self.browse(env, ids, "write")))

    @rpc("records")
    def close_session_from_ui(self, env, ids, bank_payment_method_diff_pairs=None):
        session = ensure_one(self, self.browse(env, ids, "write"))
        diffs = dict(bank_payment_method_diff_pairs or [])
        failure = self.cannot_close(env, session, diffs)
        if failure:
            return failure
        self.action_pos_session_closing_control(env, [session["id"]], bank_payment_method_diffs=diffs)
        return {"successful": True}

    @rpc("records")
    def post_closing_cash_details(self, env, ids, counted_cash):
        session = ensure_one(self, self.browse(env, ids, "write"))
        failure = self.cannot_close(env, session)
        if failure:
            return failure
        if not self.all_fields["cash_journal_id"].compute(env, session):
            raise user_error("There is no cash register in this session.")
        session["cash_register_balance_end_real"] = counted_cash
        return {"successful": True}

    @rpc("records")
    def update_closing_control_state_session(self, env, ids, notes):
        for session in self.browse(env, ids, "write"):
            if session["state"] == "closed":
                raise user_error("This session is already closed.")
            session.update(state="closing_control", stop_at=utc_now())
            if env.version >= 17:
                session["closing_notes"] = notes
        return None

    @rpc("records")
    def get_closing_control_data(self, env, ids):
        session = ensure_one(self, self.browse(env, ids))
        orders = self.orders(env, session)
        cash = cash_method(env, session)
        config = env.db.get("pos.config", session["config_id"])
        others = [{"name": m["name"], "amount": session_payments(env, session, m["id"]), "number": sum(
            1 for p in env.db.where("pos.payment", session_id=session["id"], payment_method_id=m["id"])),
                   "id": m["id"], "type": (method_journal(env, m["id"]) or {}).get("type", "pay_later")}
                  for m in (env.db.get("pos.payment.method", i) for i in config["payment_method_ids"])
                  if cash is None or m["id"] != cash["id"]]
        opening = opening_cash(env, session)
        paid_in_cash = session_payments(env, session, cash["id"]) if cash else 0.0
        return {
            "orders_details": {"quantity": len(orders), "amount": round(sum(o["amount_total"] for o in orders), 2)},
            "opening_notes": session["opening_notes"],
            "default_cash_details": {"name": cash["name"], "amount": round(opening + paid_in_cash, 2),
                                     "opening": opening, "payment_amount": paid_in_cash, "moves": [],
                                     "id": cash["id"]} if cash else None,
            "non_cash_payment_methods" if env.version >= 18 else "other_payment_methods": others,
            "is_manager": True, "amount_authorized_diff": False,
        }


# ------------------------------------------------------------------------------ orders

class PosOrder(Model):
    name, description = "pos.order", "Point of Sale Orders"
    default_order = "date_order desc, name desc, id desc"
    field_defs = {
        "name": char("Order Ref", required=True), "date_order": char("Date"),
        "company_id": many2one("res.company", "Company", required=True),
        "session_id": many2one("pos.session", "Session", required=True),
        "config_id": many2one("pos.config", "Point of Sale"),       # related session_id.config_id
        "partner_id": many2one("res.partner", "Customer"), "user_id": many2one("res.users", "Employee"),
        "state": selection("Status", ["draft", "cancel", "paid", "done", "invoiced"], default="draft"),
        "amount_total": number("Total", "float", default=0.0), "amount_tax": number("Taxes", "float", default=0.0),
        "amount_paid": number("Paid", "float", default=0.0), "amount_return": number("Returned", "float", default=0.0),
        "lines": one2many("pos.order.line", "order_id", "Order Lines"),
        "payment_ids": one2many("pos.payment", "pos_order_id", "Payments"),
        "pos_reference": char("Receipt Number"), "to_invoice": boolean("To invoice", default=False),
        "is_invoiced": boolean("Is Invoiced", default=False),
        "ticket_code": char("Ticket code", versions=(17, 18)), "tracking_number": char("Order Number",
                                                                                        versions=(17, 18)),
        "uuid": char("Uuid", versions=(18,)),
    }


class PosOrderLine(Model):
    name, description = "pos.order.line", "Point of Sale Order Lines"
    field_defs = {
        "order_id": many2one("pos.order", "Order Ref", required=True),
        "company_id": many2one("res.company", "Company"),           # related order_id.company_id, stored
        "name": char("Line No"), "product_id": many2one("product.product", "Product", required=True),
        "full_product_name": char("Full Product Name"), "qty": number("Quantity", "float", default=1.0),
        "price_unit": number("Unit Price", "float", default=0.0), "discount": number("Discount (%)", "float", default=0.0),
        "price_subtotal": number("Subtotal w/o Tax", "float", default=0.0),
        "price_subtotal_incl": number("Subtotal", "float", default=0.0),
        "tax_ids": many2many("account.tax", "Taxes"),
    }

    def visible(self, env, rec):
        # a record rule on the lines' company in 18 only
        return env.version < 18 or super().visible(env, rec)


class PosPayment(Model):
    name, description = "pos.payment", "Point of Sale Payments"
    field_defs = {
        "name": char("Label"), "pos_order_id": many2one("pos.order", "Order", required=True),
        "amount": number("Amount", "float", required=True),
        "payment_method_id": many2one("pos.payment.method", "Payment Method", required=True),
        "payment_date": char("Date"), "session_id": many2one("pos.session", "Session"),
        "company_id": many2one("res.company", "Company"),           # related pos_order_id.company_id, stored
    }


# ------------------------------------------------------------------------------ sales for tests

def make_sales(env, company_name, count, seed=None, state="paid"):
    """count orders of the company's opened session: 1-3 lines of its products available in
    the POS (or shared ones) at their list price, paid in full with the config's cash method
    (or its first). Raises ValueError saying what is missing."""
    db = env.db
    company = next((c for c in db.table("res.company").values() if c["name"] == company_name), None)
    session = company and next((s for s in db.where("pos.session", company_id=company["id"], state="opened")
                                if not s["rescue"]), None)
    if session is None:
        raise ValueError(f"no opened pos.session for company {company_name!r} in database {db.name}")
    config = db.get("pos.config", session["config_id"])
    templates = {t["id"]: t for t in db.table("product.template").values()
                 if t["active"] and t["sale_ok"] and t["available_in_pos"] and t["company_id"] in (False, company["id"])}
    products = [p for p in db.table("product.product").values() if p["product_tmpl_id"] in templates]
    if not products or not config["payment_method_ids"]:
        raise ValueError(f"pos.config {config['name']!r} needs payment methods and products available in the POS")
    method = (cash_method(env, session) or {}).get("id") or config["payment_method_ids"][0]
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        number_ = len(db.where("pos.order", session_id=session["id"])) + 1
        order = MODELS["pos.order"].create_one(env, {
            "name": f"{config['name']}/{number_:04d}", "date_order": utc_now(), "company_id": company["id"],
            "session_id": session["id"], "config_id": config["id"], "user_id": session["user_id"], "state": state,
            "pos_reference": f"Order {session['id']:05d}-001-{number_:04d}"})
        total = 0.0
        for product in rng.sample(products, min(len(products), rng.randint(1, 3))):
            qty, price = float(rng.randint(1, 5)), templates[product["product_tmpl_id"]]["list_price"]
            subtotal = round(qty * price, 2)
            total += subtotal
            MODELS["pos.order.line"].create_one(env, {
                "order_id": order["id"], "company_id": company["id"], "product_id": product["id"],
                "full_product_name": product["name"], "qty": qty, "price_unit": price,
                "price_subtotal": subtotal, "price_subtotal_incl": subtotal})
        order.update(amount_total=round(total, 2), amount_paid=round(total, 2) if state == "paid" else 0.0)
        if state == "paid":
            MODELS["pos.payment"].create_one(env, {
                "pos_order_id": order["id"], "amount": order["amount_total"], "payment_method_id": method,
                "payment_date": order["date_order"], "session_id": session["id"], "company_id": company["id"]})
        made.append(order["id"])
    return {"session_id": session["id"], "config_id": config["id"], "company_id": company["id"], "order_ids": made}
