#!/usr/bin/env python3
"""A simulated Odoo (17 by default; 16 and 18 on request) for the provisioning extension's tests.

It follows ../shared/reference/odoo-api.md: POST /jsonrpc with the common and object services,
the JSON-RPC envelope and Odoo's error envelope (HTTP 200, error.data.name / data.message),
databases by name, API keys in the password slot, the multi-company rules, and the models a
tenant's point of sale needs, with the constraints, side effects and quirks the reference lists:

  * every call re-checks the key (AccessDenied); allowed_company_ids outside the user's
    company_ids fails every call ("Access to unauthorized or invalid companies.");
    records of other companies are invisible, and creating one is an AccessError;
  * one call is one transaction: an error leaves nothing behind;
  * unknown fields in create/write are ignored (logged as a warning in the request log);
    char fields with a size are silently truncated (warehouse and journal codes: 5);
  * empty fields read as false, many2one fields as [id, name];
  * a method returning None answers with neither result nor error;
  * creating a company creates its partner, links the creating user, and (16/17, or the
    first company in 18) a warehouse; in 17+ a country with its own chart loads it;
  * loading a chart creates accounts, taxes and journals (a cash journal with profit and
    loss accounts), deletes the company's POS payment methods, and creates a "Shop" POS
    config with Cash/Bank/Customer Account methods when the company has a warehouse;
  * an unknown chart template code is a KeyError; partners may be created twice;
  * a session opens at once without cash control and waits in opening_control with it.

The ORM (exceptions, fields, domains, the Model base class and its public methods) is in
odoo_orm.py; sessions, their closing, orders and archiving refusals for issue 20 in odoo_pos.py
(warehouse and company archiving stay with their models here); the transport, fault rules and the control API's common part in simcore.py.

Usage: odoo_sim.py --port P --control-port C [--login L --api-key K --password P]
                   [--version 16|17|18] [--ready-file F]

Control API (JSON, on the control port); the common part is in simcore.py:
  POST   /faults     {"db", "method" (words the call starts with, e.g. "object.execute_kw
                      res.partner create" or "common.authenticate"), "pattern" (regex on those
                      words), "action": error|status|delay|drop_after_commit|reset|timeout|noop|raw|
                      malformed, "name","message" (error: the exception, default
                      odoo.exceptions.UserError), "status","retry_after" (status), "delay_ms",
                      "answer","mode" (malformed), "times" (default 1, -1 forever),
                      "once_per_request" (each distinct call once: see describe_call's key),
                      "probability", "seed"}  -> {"id"}; a list of rules -> {"ids"}
                     Not run: error (an error envelope, HTTP 200), status (that HTTP status,
                     an HTML page), reset (a TCP reset), timeout (closed without an answer
                     after delay_ms), noop (success with no result: how 16's try_loading
                     answers when it skips a company), raw (that HTTP status, default 200,
                     with exactly the bytes of "body_base64"). Run: delay (after delay_ms),
                     drop_after_commit (then closed without an answer). malformed answers
                     with the corpus answer "answer" (GET /malformed lists them: nulls and
                     wrong types in the envelope, malformed error envelopes, and simcore's
                     common ones) with HTTP 200, the call run first (mode "applied") or not
                     at all ("instead", the default).
  GET    /malformed  the names of the malformed answers
  DELETE /faults     remove every rule;  GET /faults  list them
  POST   /latency    {"ms"}: every API request waits that long first
  POST   /offline    {"offline": true|false}: close the API port (connections refused) or reopen it
  POST   /limits     {"db","requests_per_second","burst","workers","retry_after","status"}:
                     the database's capacity (replaces what was set; absent or null: no such
                     limit; without a db, the whole engine's, which every request passes too,
                     those naming no database included). Rate: the proxy in front of Odoo
                     (nginx's limit_req): a token bucket of "burst" requests (default one
                     second's worth) refilled at requests_per_second; a request with no token
                     is refused before it waits for a worker, with "status" (429, the default,
                     or 503, limit_req's own default) and nginx's HTML page (Server: nginx),
                     Retry-After in whole seconds (until a token is back, at least 1; or
                     "retry_after"); it is logged (refused: true), not run, and meets no fault
                     rule. "workers": Odoo's workers, at most that many requests processed at
                     once, the others wait in arrival order; latency and faults are served
                     while a worker is held. -> {"db","limits"}; 400 for a bad limit.
                     GET /limits: those set ("*": the engine's)
  GET    /capacity[?db=D]   the database's counters (without a db, the whole engine's) since
                     its last reset: {"db","arrived","refused","served","in_flight" (received,
                     not yet answered, waiting ones included),"processing" (holding a worker),
                     "waiting","peak_in_flight","peak_processing","peak_waiting","limits"};
                     arrived = refused + served + in_flight
  POST   /reset      {"db", "users": [{"login","api_key","password","admin" (default true)}],
                      "drop"}: a fresh database (as after installing account, stock and
                     point_of_sale, with one company; users default to --login/--api-key),
                     or with drop none at all; its limits and counters cleared; without a
                     db, forget everything
                     -> {"ok", "db", "users": [{"login","uid"}]}
  POST   /pos-sales  {"db", "company" (its name), "count", "seed", "state" ("paid", default, or
                     "draft")}: count pos.orders in the company's opened pos.session, 1-3 lines
                     (its products available in the POS, at list price) and, when paid, a
                     pos.payment of the total (the config's cash method) each; one transaction
                     -> {"db","count","session_id","config_id","company_id","order_ids"};
                     409 {"error"} when no session is opened (or no product / payment method),
                     404 for an unknown db
  GET    /version    POST /version {"version": 16|17|18}: the server's version (forgets
                     every database: they belong to the other server)
  GET    /requests?db=D   every API request received, in order: {"seq", "http_method", "path",
                     "db", "service", "method", "model", "model_method", "rpc" (what faults
                     match), "id", "correlation_id" (X-Correlation-ID), "content_type",
                     "t_start" (arrived), "t_worker" (got a worker), "t_answered" (answer made),
                     "t_end" (sent), "duration_ms", "fault", "status", "refused" (by the rate
                     limiter), "error" (data.name), "warnings" (unknown fields Odoo would ignore)}
  GET    /records?db=D&model=M[&domain=JSON]   the stored records, unfiltered by rules
  GET    /summary?db=D[&company=NAME]   counts of what a provisioning run creates, in the
                     named company or every company but the database's first
  GET    /health
A database a call names is created on first use, unless it was dropped.
"""

import argparse
import copy
import json
import re
import time
import traceback
import urllib.parse

import simcore
from simcore import FAULTS, LOCK, Reply
from odoo_orm import (MODELS, SUPERUSER, SYSTEM_GROUP, Database, Env, Field, Model, OdooError, access_denied,
                      access_error, boolean, char, company_currency, company_default, display_name, domain_matcher,
                      envelope_error, many2many, many2one, number, rpc, selection, sql_constraint, user_error,
                      validation_error)
from odoo_pos import PosOrder, PosOrderLine, PosPayment, PosSession, check_cash_journals, make_sales

CONFIG = {"login": "admin", "api_key": "simsecret", "password": "admin", "version": 17}
DATABASES = {}
DROPPED = set()
MAIN_COMPANY = 1

VERSIONS = (16, 17, 18)


# ------------------------------------------------------------------------------ databases

def database(name):
    """The database a call names, created on first use unless dropped (as Odoo, a missing
    database is an error envelope, not false)."""
    if name in DROPPED or not isinstance(name, str):
        # psycopg2's message when the registry cannot connect; the exact text is not in the reference
        raise OdooError("psycopg2.OperationalError",
                        f'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: '
                        f'FATAL:  database "{name}" does not exist\n')
    if name not in DATABASES:
        DATABASES[name] = new_database(name, [])
    return DATABASES[name]


# ------------------------------------------------------------------------------ base

class ResCurrency(Model):
    name, description, company_field, has_active = "res.currency", "Currency", None, True
    field_defs = {"name": char("Currency", required=True, size=3), "symbol": char("Symbol"),
                  "active": boolean("Active", default=True)}


class ResCountry(Model):
    name, description, company_field = "res.country", "Country", None
    field_defs = {"name": char("Country Name", required=True), "code": char("Country Code", size=2)}


class ResGroups(Model):
    name, description, company_field = "res.groups", "Access Groups", None
    field_defs = {"name": char("Name", required=True)}


class IrModuleModule(Model):
    name, description, company_field = "ir.module.module", "Module", None
    field_defs = {"name": char("Technical Name", required=True),
                  "state": selection("Status", ["uninstalled", "installed", "to install"], default="uninstalled")}


class IrModelData(Model):
    name, description, company_field = "ir.model.data", "Model Data", None
    field_defs = {"module": char("Module", required=True), "name": char("External Identifier", required=True),
                  "model": char("Model Name", required=True), "res_id": number("Record ID")}


def install_module(env, module_name):
    for module in env.db.where("ir.module.module", name=module_name):
        module["state"] = "installed"


class ResPartner(Model):
    name, description, has_active = "res.partner", "Contact", True
    field_defs = {
        "name": char("Name"), "company_id": many2one("res.company", "Company"),
        "is_company": boolean("Is a Company", default=False), "active": boolean("Active", default=True),
        "customer_rank": number("Customer Rank", default=lambda env, vals: int(
            env.context.get("res_partner_search_mode") == "customer")),
        "supplier_rank": number("Supplier Rank", default=0), "email": char("Email"), "phone": char("Phone"),
        "type": selection("Address Type", ["contact", "invoice", "delivery", "other"], default="contact"),
    }

    def constrain(self, env, rec):
        if not rec.get("name") and rec.get("type") == "contact":
            raise validation_error("Contacts require a name")


class ResUsers(Model):
    name, description, company_field, has_active = "res.users", "User", None, True
    field_defs = {
        "name": char("Name", required=True), "login": char("Login", required=True),
        "active": boolean("Active", default=True), "partner_id": many2one("res.partner", "Related Partner"),
        "company_id": many2one("res.company", "Company", required=True, default=company_default),
        "company_ids": many2many("res.company", "Companies"),
        "groups_id": many2many("res.groups", "Groups"),     # group_ids from 19 on
    }
    unique = ((("login",), "You can not have two users with the same login !"),)

    def constrain(self, env, rec):
        if rec["company_id"] not in rec["company_ids"]:
            raise validation_error("The chosen company is not in the allowed companies for this user")


class ProductPricelist(Model):
    name, description, has_active = "product.pricelist", "Pricelist", True
    field_defs = {"name": char("Pricelist Name", required=True), "active": boolean("Active", default=True),
                  "currency_id": many2one("res.currency", "Currency", required=True, default=company_currency),
                  "company_id": many2one("res.company", "Company")}


# ------------------------------------------------------------------------------ res.company

# Chart template codes (17+) with the module that brings them and the country they are guessed
# for; 16 has chart template records instead (seeded per database). The reference does not say
# which template 17 guesses for the United States: no l10n_us chart is known, so generic_coa.
CHART_TEMPLATES = {"generic_coa": ("account", None), "be_comp": ("l10n_be", "BE"), "fr": ("l10n_fr", "FR"),
                   "de_skr03": ("l10n_de", "DE"), "uk": ("l10n_uk", "GB"), "in": ("l10n_in", "IN")}


class ResCompany(Model):
    name, description, has_active = "res.company", "Companies", True
    company_field = None                 # admins see every company; see visible()
    field_defs = {
        "name": char("Company Name", required=True), "active": boolean("Active", default=True),
        "currency_id": many2one("res.currency", "Currency", required=True, default=company_currency),
        "partner_id": many2one("res.partner", "Partner"), "country_id": many2one("res.country", "Country"),
        "parent_id": many2one("res.company", "Parent Company"),
        "email": char("Email"), "phone": char("Phone"), "street": char("Street"), "city": char("City"),
        "vat": char("Tax ID"),
        "chart_template": selection("Chart Template", list(CHART_TEMPLATES), versions=(17, 18)),
        "chart_template_id": many2one("account.chart.template", "Chart Template", versions=(16,)),
        "account_sale_tax_id": many2one("account.tax", "Default Sale Tax"),
        "account_purchase_tax_id": many2one("account.tax", "Default Purchase Tax"),
        "default_cash_difference_income_account_id": many2one("account.account", "Cash Difference Income"),
        "default_cash_difference_expense_account_id": many2one("account.account", "Cash Difference Expense"),
        "fiscalyear_last_day": number("Fiscalyear Last Day", default=31),
        "fiscalyear_last_month": selection("Fiscalyear Last Month", [str(m) for m in range(1, 13)], default="12"),
        "anglo_saxon_accounting": boolean("Use anglo-saxon accounting", default=False),
    }
    unique = ((("name",), "The company name must be unique!"),)

    def visible(self, env, rec):
        return env.is_admin() or rec["id"] in env.companies

    def constrain(self, env, rec):
        """_check_active: no archiving a company that is an active user's default company."""
        if not rec["active"]:
            users = sum(1 for u in env.db.where("res.users", company_id=rec["id"]) if u["active"])
            if users:
                raise validation_error(f"The company {rec['name']} cannot be archived because it is still used as "
                                       f"the default company of {users} users.")

    def before_write(self, env, rec, vals):
        if env.version >= 17 and "active" in vals and not vals["active"]:
            for branch in env.db.where("res.company", parent_id=rec["id"]):     # archived with it
                self.write_one(env, branch, {"active": False})

    @rpc("model")
    def create(self, env, vals_list):
        if not env.is_admin():
            raise access_error("You are not allowed to create 'Companies' (res.company) records.\n\n"
                               "This operation is allowed for the following groups:\n\t- Administration/Access Rights")
        return super().create(env, vals_list)

    def after_create(self, env, rec):
        db = env.db
        db.get("res.currency", rec["currency_id"])["active"] = True
        partner = db.insert("res.partner", {**MODELS["res.partner"].defaults(env, {}), "name": rec["name"],
                                            "is_company": True, "company_id": rec["id"], "customer_rank": 0})
        rec["partner_id"] = partner["id"]
        linked = {env.uid} | ({SUPERUSER} if env.version >= 17 else set())
        for uid in linked:      # 16 unverified (reference section 6): linked as in 17
            user = db.get("res.users", uid)
            user["company_ids"] = user["company_ids"] + [rec["id"]]
        if env.version == 16:
            ensure_pricelist(db, rec["currency_id"])
        if env.version <= 17 or not db.table("stock.warehouse"):
            create_warehouse(env.sudo(), rec, rec["name"], rec["name"][:5])
        if env.version >= 17 and rec.get("country_id"):
            code = guess_chart_template(db, rec["country_id"])
            install_module(env, CHART_TEMPLATES[code][0])
            if code != "generic_coa":
                load_chart(env.sudo(), code, rec)


def ensure_pricelist(db, currency_id):
    if not db.where("product.pricelist", currency_id=currency_id, company_id=False):
        currency = db.get("res.currency", currency_id)["name"]
        db.insert("product.pricelist", {"name": f"Default {currency} pricelist", "active": True,
                                        "currency_id": currency_id, "company_id": False})


def guess_chart_template(db, country_id):
    country = db.get("res.country", country_id)["code"]
    return next((code for code, (_, c) in CHART_TEMPLATES.items() if c == country), "generic_coa")


# ------------------------------------------------------------------------------ accounting

ACCOUNT_TYPES = ["asset_receivable", "asset_cash", "asset_current", "asset_non_current", "asset_fixed",
                 "liability_payable", "liability_current", "liability_non_current", "equity", "equity_unaffected",
                 "income", "income_other", "expense", "expense_depreciation", "expense_direct_cost", "off_balance"]

# What loading a chart creates: accounts (code, name, type), taxes and journals (code, name, type).
CHART_ACCOUNTS = [
    ("101401", "Bank", "asset_cash"), ("101501", "Cash", "asset_cash"),
    ("101402", "Bank Suspense Account", "asset_current"), ("101403", "Outstanding Receipts", "asset_current"),
    ("101404", "Outstanding Payments", "asset_current"), ("101701", "Liquidity Transfer", "asset_current"),
    ("110100", "Stock Valuation", "asset_current"), ("110200", "Stock Interim (Received)", "asset_current"),
    ("110300", "Stock Interim (Delivered)", "asset_current"), ("121000", "Account Receivable", "asset_receivable"),
    ("121100", "Account Receivable (PoS)", "asset_receivable"), ("131000", "Tax Paid", "asset_current"),
    ("151000", "Fixed Asset", "asset_fixed"), ("211000", "Account Payable", "liability_payable"),
    ("251000", "Tax Received", "liability_current"), ("252000", "Tax Payable", "liability_current"),
    ("301000", "Capital", "equity"), ("999999", "Undistributed Profits/Losses", "equity_unaffected"),
    ("400000", "Product Sales", "income"), ("441000", "Foreign Exchange Gain", "income_other"),
    ("442000", "Cash Difference Gain", "income_other"), ("450000", "Other Income", "income_other"),
    ("500000", "Cost of Goods Sold", "expense_direct_cost"), ("600000", "Expenses", "expense"),
    ("641000", "Foreign Exchange Loss", "expense"), ("642000", "Cash Difference Loss", "expense"),
]
CHART_JOURNALS = [("INV", "Customer Invoices", "sale"), ("BILL", "Vendor Bills", "purchase"),
                  ("MISC", "Miscellaneous Operations", "general"), ("EXCH", "Exchange Difference", "general"),
                  ("CABA", "Cash Basis Taxes", "general"), ("BNK1", "Bank", "bank"), ("CSH1", "Cash", "cash")]


def company_accounts_value(env, company_id):
    """account.account's company field: company_id (16/17), company_ids (18+)."""
    return {"company_ids": [company_id]} if env.version >= 18 else {"company_id": company_id}


class AccountAccount(Model):
    name, description = "account.account", "Account"
    field_defs = {
        "code": char("Code", required=True, size=64), "name": char("Account Name", required=True),
        "account_type": selection("Type", ACCOUNT_TYPES, required=True),
        "company_id": many2one("res.company", "Company", default=company_default, required=True, versions=(16, 17)),
        "company_ids": many2many("res.company", "Companies", default=lambda env, vals: [env.company],
                                 versions=(18,)),
        "deprecated": boolean("Deprecated", default=False), "reconcile": boolean("Allow Reconciliation", default=False),
    }

    company_field = None     # company_id or company_ids by version: see visible()

    def visible(self, env, rec):
        if env.su:
            return True
        companies = rec.get("company_ids") or ([rec["company_id"]] if rec.get("company_id") else [])
        return any(c in env.companies for c in companies)

    def constrain(self, env, rec):
        companies = set(rec.get("company_ids") or [rec.get("company_id")])
        for other in env.db.table(self.name).values():
            theirs = set(other.get("company_ids") or [other.get("company_id")])
            if other["id"] != rec["id"] and other["code"] == rec["code"] and companies & theirs:
                raise sql_constraint("The code of the account must be unique per company!")


class AccountTax(Model):
    name, description, has_active = "account.tax", "Tax", True
    field_defs = {"name": char("Tax Name", required=True), "amount": number("Amount", "float", default=0.0),
                  "type_tax_use": selection("Tax Type", ["sale", "purchase", "none"], default="sale"),
                  "active": boolean("Active", default=True),
                  "company_id": many2one("res.company", "Company", required=True, default=company_default)}


def cash_difference_default(field):
    def default(env, vals):
        if vals.get("type") != "cash":
            return False
        return env.db.get("res.company", vals.get("company_id") or env.company)[field]
    return default


class AccountJournal(Model):
    name, description, has_active = "account.journal", "Journal", True
    field_defs = {
        "name": char("Journal Name", required=True), "code": char("Short Code", required=True, size=5),
        "type": selection("Type", ["sale", "purchase", "cash", "bank", "general"], required=True),
        "active": boolean("Active", default=True),
        "company_id": many2one("res.company", "Company", required=True, default=company_default),
        "currency_id": many2one("res.currency", "Currency"),
        "default_account_id": many2one("account.account", "Default Account"),
        # a new cash journal takes the company's cash difference accounts
        "profit_account_id": many2one("account.account", "Profit Account",
                                      default=cash_difference_default("default_cash_difference_income_account_id")),
        "loss_account_id": many2one("account.account", "Loss Account",
                                    default=cash_difference_default("default_cash_difference_expense_account_id")),
    }
    unique = ((("company_id", "code"), "Journal codes must be unique per company."),)


class AccountChartTemplate(Model):
    """16: chart templates are records, try_loading a record method on them; 17+: an abstract
    model, try_loading(template_code, company) called with an empty ids list first."""

    name, description, company_field = "account.chart.template", "Account Chart Template", None
    field_defs = {"name": char("Name", required=True, versions=(16,)),
                  "code": char("Template code", versions=(16,)),      # what the simulator loads
                  "currency_id": many2one("res.currency", "Currency", versions=(16,))}

    @rpc("records", versions=(16,), name="try_loading")
    def try_loading_16(self, env, ids, company=False, install_demo=True):
        company_rec = env.db.get("res.company", env.company)
        if company:
            raise AttributeError("'int' object has no attribute 'chart_template_id'")   # it reads attributes
        if company_rec.get("chart_template_id") or has_accounting(env.db, company_rec["id"]):
            return None         # silently does nothing
        for template in self.browse(env, ids):
            check_chart_rights(env)
            company_rec["chart_template_id"] = template["id"]
            company_rec["currency_id"] = template["currency_id"]     # the generic template is in USD
            load_chart(env, template["code"], company_rec)
        return None

    @rpc("records", versions=(17,), name="try_loading")
    def try_loading_17(self, env, ids, template_code, company, install_demo=True):
        return self.load_for(env, template_code, company)

    @rpc("records", versions=(18,), name="try_loading")
    def try_loading_18(self, env, ids, template_code, company, install_demo=False, force_create=True):
        return self.load_for(env, template_code, company)

    def load_for(self, env, template_code, company):
        if not company:
            return None
        company_rec = MODELS["res.company"].browse(env, company if isinstance(company, int) else company)[0]
        template_code = template_code or guess_chart_template(env.db, company_rec["country_id"])
        check_chart_rights(env)
        if template_code not in CHART_TEMPLATES:
            raise KeyError(template_code)     # _get_chart_template_mapping()[template_code]
        install_module(env, CHART_TEMPLATES[template_code][0])
        load_chart(env, template_code, company_rec)
        return None


def check_chart_rights(env):
    if not env.is_admin():
        raise access_error("Only administrators can install chart templates" if env.version >= 17
                           else "Only administrators can load a chart of accounts")


def has_accounting(db, company_id):
    return bool(db.where("account.move", company_id=company_id))


def load_chart(env, code, company):
    """_load: a new template replaces the company's accounting (when it has no entries) and
    the POS hook drops its payment methods; the same code again only reloads (adds what is
    missing). Then the POS localisation sets up the company's POS configs."""
    db, cid = env.db, company["id"]
    reload = env.version >= 17 and company.get("chart_template") == code
    if env.version >= 17:
        company["chart_template"] = code
    if not reload:
        for rec in list(db.where("pos.payment.method", company_id=cid)):
            del db.table("pos.payment.method")[rec["id"]]
        for config in db.where("pos.config", company_id=cid):
            config.update(journal_id=False, invoice_journal_id=False, payment_method_ids=[])
        if not has_accounting(db, cid):
            for model in ("account.journal", "account.tax", "account.account"):
                for rec in [r for r in db.table(model).values()
                            if r.get("company_id") == cid or cid in (r.get("company_ids") or [])]:
                    del db.table(model)[rec["id"]]
    accounts = {}
    for acc_code, acc_name, acc_type in CHART_ACCOUNTS:
        existing = [a for a in db.table("account.account").values() if a["code"] == acc_code
                    and (a.get("company_id") == cid or cid in (a.get("company_ids") or []))]
        accounts[acc_code] = existing[0] if existing else db.insert("account.account", {
            "code": acc_code, "name": acc_name, "account_type": acc_type, "deprecated": False,
            "reconcile": acc_type in ("asset_receivable", "liability_payable"), **company_accounts_value(env, cid)})
    company["default_cash_difference_income_account_id"] = accounts["442000"]["id"]
    company["default_cash_difference_expense_account_id"] = accounts["642000"]["id"]
    for tax_use, field in (("sale", "account_sale_tax_id"), ("purchase", "account_purchase_tax_id")):
        tax = (db.where("account.tax", company_id=cid, type_tax_use=tax_use)
               or [db.insert("account.tax", {"name": "15%", "amount": 15.0, "type_tax_use": tax_use,
                                             "active": True, "company_id": cid})])[0]
        company[field] = tax["id"]
    for j_code, j_name, j_type in CHART_JOURNALS:
        if not db.where("account.journal", company_id=cid, code=j_code):
            liquidity = {"bank": "101401", "cash": "101501"}.get(j_type)
            db.insert("account.journal", {
                "name": j_name, "code": j_code, "type": j_type, "active": True, "company_id": cid,
                "currency_id": False, "default_account_id": accounts[liquidity]["id"] if liquidity else False,
                "profit_account_id": accounts["442000"]["id"] if j_type == "cash" else False,
                "loss_account_id": accounts["642000"]["id"] if j_type == "cash" else False})
    post_install_pos_localisation(env, company)


# ------------------------------------------------------------------------------ stock

class StockLocation(Model):
    name, description, has_active = "stock.location", "Inventory Locations", True
    field_defs = {"name": char("Location Name", required=True), "active": boolean("Active", default=True),
                  "usage": selection("Location Type", ["view", "internal"], default="internal"),
                  "location_id": many2one("stock.location", "Parent Location"),
                  "company_id": many2one("res.company", "Company", default=company_default)}


class StockPickingType(Model):
    name, description, has_active = "stock.picking.type", "Picking Type", True
    field_defs = {"name": char("Operation Type", required=True), "active": boolean("Active", default=True),
                  "code": selection("Type of Operation", ["incoming", "outgoing", "internal"], default="outgoing"),
                  "sequence_code": char("Sequence Prefix"),
                  "warehouse_id": many2one("stock.warehouse", "Warehouse"),
                  "company_id": many2one("res.company", "Company", required=True, default=company_default)}


class StockMove(Model):
    """Only so that a warehouse with ongoing operations can be asked to archive."""
    name, description = "stock.move", "Stock Move"
    field_defs = {"name": char("Description"), "product_id": many2one("product.product", "Product"),
                  "product_uom_qty": number("Demand", "float", default=0.0),
                  "picking_type_id": many2one("stock.picking.type", "Operation Type"),
                  "state": selection("Status", ["draft", "waiting", "confirmed", "partially_available", "assigned",
                                                "done", "cancel"], default="draft"),
                  "company_id": many2one("res.company", "Company", required=True, default=company_default)}


def company_partner(env, vals):
    return env.db.get("res.company", vals.get("company_id") or env.company)["partner_id"]


class StockWarehouse(Model):
    name, description, has_active = "stock.warehouse", "Warehouse", True
    field_defs = {
        "name": char("Warehouse", required=True), "code": char("Short Name", required=True, size=5),
        "active": boolean("Active", default=True),
        "company_id": many2one("res.company", "Company", required=True, default=company_default),
        "partner_id": many2one("res.partner", "Address", default=company_partner, check_company=True),
        "view_location_id": many2one("stock.location", "View Location"),
        "lot_stock_id": many2one("stock.location", "Location Stock"),
        "pos_type_id": many2one("stock.picking.type", "Point of Sale Operation Type"),
    }
    unique = ((("name", "company_id"), "The name of the warehouse must be unique per company!"),
              (("code", "company_id"), "The short name of the warehouse must be unique per company!"))

    def after_create(self, env, rec):
        # a warehouse brings its locations and operation types (here the ones a POS uses)
        db = env.db
        view = db.insert("stock.location", {"name": rec["code"], "usage": "view", "active": True,
                                            "location_id": False, "company_id": rec["company_id"]})
        stock = db.insert("stock.location", {"name": "Stock", "usage": "internal", "active": True,
                                             "location_id": view["id"], "company_id": rec["company_id"]})
        pos_type = db.insert("stock.picking.type", {"name": "PoS Orders", "code": "outgoing", "active": True,
                                                    "sequence_code": "POS", "warehouse_id": rec["id"],
                                                    "company_id": rec["company_id"]})
        rec.update(view_location_id=view["id"], lot_stock_id=stock["id"], pos_type_id=pos_type["id"])

    def before_write(self, env, rec, vals):
        if "company_id" in vals and vals["company_id"] != rec["company_id"]:
            raise user_error("Changing the company of this record is forbidden at this point, you should "
                             "rather archive it and create a new one.")
        if "active" in vals:
            self.set_active(env, rec, bool(vals["active"]))

    def set_active(self, env, rec, active):
        """(Un)archiving refuses ongoing operations on the warehouse's picking types, and
        (un)archives those and its view location."""
        types = env.db.where("stock.picking.type", warehouse_id=rec["id"])
        ongoing = [m for m in env.db.table("stock.move").values()
                   if m["picking_type_id"] in {t["id"] for t in types} and m["state"] not in ("done", "cancel")]
        if ongoing:
            names = ", ".join(dict.fromkeys(env.db.get("stock.picking.type", m["picking_type_id"])["name"]
                                            for m in ongoing))
            what = "operation types" if env.version >= 18 else "picking types"
            raise user_error(f"You still have ongoing operations for {what} {names} in warehouse {rec['name']}")
        for picking_type in types:
            picking_type["active"] = active
        if rec["view_location_id"]:
            env.db.get("stock.location", rec["view_location_id"])["active"] = active


def create_warehouse(env, company, name, code):
    return MODELS["stock.warehouse"].create_one(env, {"name": name, "code": code, "company_id": company["id"],
                                                      "partner_id": company["partner_id"]})


# ------------------------------------------------------------------------------ products

class PosCategory(Model):
    name, description, company_field = "pos.category", "Point of Sale Category", None
    field_defs = {"name": char("Category Name", required=True)}


def default_sale_taxes(env, vals):
    tax = env.db.get("res.company", env.company)["account_sale_tax_id"]
    return [tax] if tax else []


class ProductTemplate(Model):
    name, description, has_active = "product.template", "Product", True
    field_defs = {
        "name": char("Name", required=True), "active": boolean("Active", default=True),
        "list_price": number("Sales Price", "float", default=1.0), "sale_ok": boolean("Can be Sold", default=True),
        "available_in_pos": boolean("Available in POS", default=False),
        # storable: type "product" until 17, is_storable from 18 on
        "type": selection("Product Type", lambda version: ["consu", "service", "combo"] if version >= 18
                          else ["consu", "service", "product"], default="consu"),
        "is_storable": boolean("Track Inventory", default=False, versions=(18,)),
        "pos_categ_id": many2one("pos.category", "Point of Sale Category", versions=(16,)),
        "pos_categ_ids": many2many("pos.category", "Point of Sale Category", versions=(17, 18)),
        "company_id": many2one("res.company", "Company"),
        "taxes_id": many2many("account.tax", "Customer Taxes", default=default_sale_taxes),
        "product_variant_ids": Field("many2many", "Products", comodel="product.product", compute=lambda env, rec: [
            p["id"] for p in env.db.where("product.product", product_tmpl_id=rec["id"])]),
    }

    def after_create(self, env, rec):
        env.db.insert("product.product", {"product_tmpl_id": rec["id"], "name": rec["name"], "active": True,
                                          "company_id": rec["company_id"]})


class ProductProduct(Model):
    name, description, has_active = "product.product", "Product Variant", True
    field_defs = {"name": char("Name"), "active": boolean("Active", default=True),
                  "product_tmpl_id": many2one("product.template", "Product Template", required=True),
                  "company_id": many2one("res.company", "Company")}


# ------------------------------------------------------------------------------ point of sale

class PosPaymentMethod(Model):
    name, description, has_active = "pos.payment.method", "Point of Sale Payment Methods", True
    field_defs = {
        "name": char("Method", required=True), "active": boolean("Active", default=True),
        "journal_id": many2one("account.journal", "Journal", check_company=True),
        "company_id": many2one("res.company", "Company", required=True, default=company_default),
        "split_transactions": boolean("Identify Customer", default=False),
        "is_cash_count": boolean("Cash", compute=lambda env, rec: journal_type(env, rec) == "cash"),
        "payment_method_type": selection("Integration", ["none", "terminal", "qr_code"], default="none",
                                         versions=(18,)),
    }

    def constrain(self, env, rec):
        if rec.get("journal_id") and journal_type(env, rec) not in ("cash", "bank"):
            raise validation_error("Only journals of type 'Cash' or 'Bank' could be used with payment methods.")
        if env.version >= 18 and journal_type(env, rec) == "cash" and any(
                o["id"] != rec["id"] and o["journal_id"] == rec["journal_id"]
                for o in env.db.table(self.name).values()):
            # 18 forbids two cash methods on one journal; the message is not in the reference
            raise validation_error("This journal is already used by another cash payment method.")


def journal_type(env, method):
    journal = env.db.get("account.journal", method.get("journal_id")) if method.get("journal_id") else None
    return journal["type"] if journal else False


def first_warehouse(env, company_id):
    return next(iter(env.db.where("stock.warehouse", company_id=company_id, active=True)), None)


def default_picking_type(env, vals):
    company_id = vals.get("company_id") or env.company
    warehouse = first_warehouse(env, company_id)
    if warehouse is None and env.version >= 18:
        name = display_name(env.db.get("res.company", company_id))
        raise OdooError("odoo.exceptions.RedirectWarning", f"Please create a warehouse for company {name}.",
                        [f"Please create a warehouse for company {name}.", "stock.action_warehouse_form",
                         "Go to Warehouses", {}])
    return warehouse["pos_type_id"] if warehouse else False


def default_warehouse(env, vals):
    warehouse = first_warehouse(env, vals.get("company_id") or env.company)
    return warehouse["id"] if warehouse else False


def default_pos_journal(env, vals):
    """The company's POSS journal (16/17); 18 creates it (_ensure_company_account_journal)."""
    company_id = vals.get("company_id") or env.company
    journal = next(iter(env.db.where("account.journal", company_id=company_id, code="POSS")), None)
    if journal is None and env.version >= 18:
        journal = ensure_pos_journal(env, company_id)
    return journal["id"] if journal else False


def ensure_pos_journal(env, company_id):
    return (env.db.where("account.journal", company_id=company_id, code="POSS") or [
        env.db.insert("account.journal", {**MODELS["account.journal"].defaults(env, {"type": "general"}),
                                          "name": "Point of Sale", "code": "POSS", "type": "general",
                                          "company_id": company_id})])[0]


def default_invoice_journal(env, vals):
    journal = next(iter(env.db.where("account.journal", company_id=vals.get("company_id") or env.company,
                                     type="sale")), None)
    return journal["id"] if journal else False


def default_pos_pricelist(env, vals):
    company = env.db.get("res.company", vals.get("company_id") or env.company)
    pricelist = next((p for p in env.db.table("product.pricelist").values()
                      if p["company_id"] in (False, company["id"]) and p["currency_id"] == company["currency_id"]),
                     None)
    return pricelist["id"] if pricelist else False


def default_payment_methods(env, vals):
    """18 sets up the company's Cash, Card and Customer Account methods; it needs a bank journal."""
    if env.version < 18:
        return []
    return setup_payment_methods(env, vals.get("company_id") or env.company)


def setup_payment_methods(env, company_id):
    """Cash (on a cash journal no method uses yet, else a new one), Bank (Card in 18) and
    Customer Account, reusing the company's methods no config uses."""
    db = env.db
    bank = next(iter(db.where("account.journal", company_id=company_id, type="bank")), None)
    if bank is None:
        raise user_error("Ensure that there is an existing bank journal. Check if chart of accounts is installed "
                         "in your company.")
    used = {m for c in db.table("pos.config").values() for m in c.get("payment_method_ids") or []}
    cash_journal = next((j for j in db.where("account.journal", company_id=company_id, type="cash")
                         if not db.where("pos.payment.method", journal_id=j["id"])), None)
    if cash_journal is None:
        code = next(f"CSH{n}" for n in range(1, 100)
                    if not db.where("account.journal", company_id=company_id, code=f"CSH{n}"))
        cash_journal = MODELS["account.journal"].create_one(env, {"name": "Cash", "code": code, "type": "cash",
                                                                  "company_id": company_id})
    methods = []
    for name, journal, split in (("Cash", cash_journal, False), ("Card" if env.version >= 18 else "Bank", bank, False),
                                 ("Customer Account", None, True)):
        reusable = [m for m in db.where("pos.payment.method", company_id=company_id, name=name)
                    if m["id"] not in used and (journal is None or m["journal_id"] == journal["id"])]
        method = reusable[0] if reusable else MODELS["pos.payment.method"].create_one(env, {
            "name": name, "journal_id": journal["id"] if journal else False, "company_id": company_id,
            "split_transactions": split})
        methods.append(method["id"])
    return methods


def current_session(env, config):
    return next((s for s in env.db.where("pos.session", config_id=config["id"], rescue=False)
                 if s["state"] != "closed"), None)


class PosConfig(Model):
    name, description, has_active = "pos.config", "Point of Sale Configuration", True
    field_defs = {
        "name": char("Point of Sale", required=True), "active": boolean("Active", default=True),
        "company_id": many2one("res.company", "Company", required=True, default=company_default),
        "picking_type_id": many2one("stock.picking.type", "Operation Type", required=True,
                                    default=default_picking_type, check_company=True),
        "warehouse_id": many2one("stock.warehouse", "Warehouse", default=default_warehouse, check_company=True),
        "journal_id": many2one("account.journal", "Point of Sale Journal", default=default_pos_journal),
        "invoice_journal_id": many2one("account.journal", "Invoice Journal", default=default_invoice_journal),
        "payment_method_ids": many2many("pos.payment.method", "Payment Methods", default=default_payment_methods),
        "pricelist_id": many2one("product.pricelist", "Default Pricelist", default=default_pos_pricelist,
                                 required=(16,)),       # optional from 17 on
        "module_pos_restaurant": boolean("Is a Bar/Restaurant", default=False),
        "cash_control": boolean("Advanced Cash Control", compute=lambda env, rec: any(
            journal_type(env, env.db.get("pos.payment.method", m) or {}) == "cash"
            for m in rec.get("payment_method_ids") or [])),
        "current_session_id": Field("many2one", "Current Session", comodel="pos.session", compute=lambda env, rec: (
            current_session(env, rec) or {}).get("id", False)),
        "current_session_state": char("Current Session State", compute=lambda env, rec: (
            current_session(env, rec) or {}).get("state", False)),
        "company_has_template": boolean("Company has chart of accounts", compute=lambda env, rec: company_has_chart(
            env, rec["company_id"])),
    }
    # fields that cannot change while a session is open
    locked_while_open = ("payment_method_ids", "pricelist_id", "module_pos_restaurant")

    def constrain(self, env, rec):
        db, label = env.db, rec["name"]
        for m in rec["payment_method_ids"]:
            method = db.get("pos.payment.method", m)
            if method is None or method["company_id"] != rec["company_id"]:
                raise validation_error(f"The payment methods for the point of sale {label} must belong to its company.")
            if env.version >= 17 and journal_type(env, method) == "cash" and any(
                    m in c["payment_method_ids"] for c in db.table(self.name).values() if c["id"] != rec["id"]):
                raise validation_error("This cash payment method is already used in another Point of Sale.\n"
                                       "A new cash payment method should be created for this point of sale.")
        for field, what in (("journal_id", "sales journal"), ("invoice_journal_id", "invoice journal")):
            journal = db.get("account.journal", rec[field]) if rec[field] else None
            if journal and journal["company_id"] != rec["company_id"]:
                raise validation_error(f"The {what} of the point of sale {label} must belong to its company.")

    def after_create(self, env, rec):
        install_flagged_modules(env, rec)

    def before_write(self, env, rec, vals):
        if current_session(env, rec):
            locked = [self.all_fields[f].string for f in self.locked_while_open
                      if f in vals and vals[f] != rec.get(f)]
            if locked:
                raise user_error("Unable to modify this PoS Configuration because you can't modify "
                                 f"{', '.join(locked)} while a session is open.")

    def write_one(self, env, rec, vals):
        super().write_one(env, rec, vals)
        install_flagged_modules(env, rec)

    def check_before_new_session(self, env, config):
        if not company_has_chart(env, config["company_id"]):
            raise user_error('No chart of account configured, go to the "configuration / settings" menu, and '
                             'install one from the Invoicing tab.')
        if not config["payment_method_ids"]:
            raise validation_error("You must have at least one payment method configured to launch a session.")
        check_cash_journals(env, config)

    @rpc("records")
    def open_ui(self, env, ids):
        """17/18: checks, creates the session if none, returns the POS URL; 16 creates none."""
        config = self.browse(env, ids)[0]
        if env.version >= 18 and env.uid == SUPERUSER:
            raise user_error("You cannot open a Point of Sale session as the superuser.")   # wording unverified
        if env.version >= 17 and not current_session(env, config):
            self.check_before_new_session(env, config)
            MODELS["pos.session"].create_one(env, {"config_id": config["id"], "user_id": env.uid})
        return {"type": "ir.actions.act_url", "url": f"/pos/ui?config_id={config['id']}", "target": "self"}

    @rpc("records", versions=(16,))
    def open_session_cb(self, env, ids, check_coa=True):
        config = self.browse(env, ids)[0]
        session = current_session(env, config)
        if session is None:
            self.check_before_new_session(env, config)
            session = MODELS["pos.session"].create_one(env, {"config_id": config["id"], "user_id": env.uid})
        return {"type": "ir.actions.act_window", "res_model": "pos.session", "res_id": session["id"],
                "view_mode": "form"}


def company_has_chart(env, company_id):
    company = env.db.get("res.company", company_id)
    return bool(company.get("chart_template_id") if env.version == 16 else company.get("chart_template"))


def install_flagged_modules(env, config):
    # module_* flags install their module at once (a registry reload in Odoo)
    for fname in config:
        if fname.startswith("module_") and config[fname]:
            install_module(env, fname[len("module_"):])


def post_install_pos_localisation(env, company):
    """After a chart loads: a "Shop" config when the company has none (it needs the
    company's warehouse), and default journals and payment methods on the company's configs."""
    db, cid = env.db, company["id"]
    sudo = env.sudo()
    configs = db.where("pos.config", company_id=cid)
    if not configs and first_warehouse(env, cid):
        configs = [MODELS["pos.config"].create_one(sudo, {"name": "Shop", "company_id": cid})]
    for config in configs:
        config["journal_id"] = config["journal_id"] or ensure_pos_journal(sudo, cid)["id"]
        config["invoice_journal_id"] = config["invoice_journal_id"] or default_invoice_journal(sudo, config)
        if not config["payment_method_ids"]:
            config["payment_method_ids"] = setup_payment_methods(sudo, cid)


class AccountMove(Model):
    """Only so that "has accounting entries" can be asked; provisioning creates none."""
    name, description = "account.move", "Journal Entry"
    field_defs = {"name": char("Number"), "company_id": many2one("res.company", "Company", default=company_default)}


class ResConfigSettings(Model):
    """A transient record; execute() writes the company's settings and installs flagged modules."""

    name, description = "res.config.settings", "Config Settings"
    field_defs = {
        "company_id": many2one("res.company", "Company", required=True, default=company_default),
        "chart_template_id": many2one("account.chart.template", "Template", versions=(16,)),
        "chart_template": selection("Template", list(CHART_TEMPLATES), versions=(17, 18)),
        "group_stock_multi_locations": boolean("Storage Locations", default=False),
        "group_product_pricelist": boolean("Pricelists", default=False),
        "module_pos_restaurant": boolean("Is a Bar/Restaurant", default=False),
        "fiscalyear_last_day": number("Fiscalyear Last Day"),
        "fiscalyear_last_month": selection("Fiscalyear Last Month", [str(m) for m in range(1, 13)]),
    }
    company_fields = ("fiscalyear_last_day", "fiscalyear_last_month")

    def defaults(self, env, vals):
        out = super().defaults(env, vals)
        company = env.db.get("res.company", env.company)
        out.update({f: company[f] for f in self.company_fields if f not in vals})
        return out

    @rpc("records")
    def execute(self, env, ids):
        for settings in self.browse(env, ids):
            if settings["company_id"] != env.company:
                continue        # set_values only touches env.company
            company = env.db.get("res.company", env.company)
            company.update({f: settings[f] for f in self.company_fields if settings.get(f)})
            install_flagged_modules(env, settings)
            chosen = settings.get("chart_template_id") if env.version == 16 else settings.get("chart_template")
            if chosen and chosen != company.get("chart_template_id" if env.version == 16 else "chart_template"):
                if has_accounting(env.db, company["id"]):
                    raise user_error("Could not install new chart of account as there are already accounting "
                                     "entries existing.")
                check_chart_rights(env)
                code = env.db.get("account.chart.template", chosen)["code"] if env.version == 16 else chosen
                if env.version == 16:
                    company["chart_template_id"] = chosen
                load_chart(env, code, company)
        return {"type": "ir.actions.client", "tag": "reload"}


MODELS.update({cls.name: cls() for cls in (
    ResCurrency, ResCountry, ResGroups, IrModuleModule, IrModelData, ResPartner, ResUsers, ProductPricelist,
    ResCompany, AccountAccount, AccountTax, AccountJournal, AccountChartTemplate, AccountMove, StockLocation,
    StockPickingType, StockMove, StockWarehouse, PosCategory, ProductTemplate, ProductProduct, PosPaymentMethod,
    PosConfig, PosSession, PosOrder, PosOrderLine, PosPayment, ResConfigSettings)})


# ------------------------------------------------------------------------------ a fresh database

CURRENCIES = [("USD", "$", True), ("EUR", "€", False), ("GBP", "£", False), ("INR", "₹", False)]
COUNTRIES = [("US", "United States"), ("BE", "Belgium"), ("FR", "France"), ("DE", "Germany"),
             ("GB", "United Kingdom"), ("IN", "India")]
MODULES = ["base", "web", "account", "stock", "point_of_sale", "pos_restaurant", "l10n_generic_coa", "l10n_be",
           "l10n_fr", "l10n_de", "l10n_uk", "l10n_in"]
INSTALLED = {"base", "web", "account", "stock", "point_of_sale", "l10n_generic_coa"}


def new_database(name, users):
    """A database as after installing account, stock and point_of_sale: the main company
    (with the generic chart, a warehouse and its "Shop"), OdooBot, and the API users
    (default: CONFIG's admin). users: [{"login", "api_key", "password", "admin"}]."""
    db = Database(name, CONFIG["version"])
    for code, symbol, active in CURRENCIES:
        db.insert("res.currency", {"name": code, "symbol": symbol, "active": active})
    for code, country in COUNTRIES:
        db.insert("res.country", {"name": country, "code": code})
    for group in ("Internal User", "Access Rights", "Settings"):
        db.insert("res.groups", {"name": group})
    for module in MODULES:
        db.insert("ir.module.module", {"name": module, "state": "installed" if module in INSTALLED else "uninstalled"})
    usd = db.where("res.currency", name="USD")[0]["id"]
    partner = db.insert("res.partner", {"name": "My Company", "is_company": True, "company_id": MAIN_COMPANY,
                                        "active": True, "customer_rank": 0, "type": "contact"})
    company = db.insert("res.company", {**{f: False for f in MODELS["res.company"].fields(db.version)},
                                        "name": "My Company", "active": True, "currency_id": usd,
                                        "partner_id": partner["id"], "fiscalyear_last_day": 31,
                                        "fiscalyear_last_month": "12",
                                        "country_id": db.where("res.country", code="US")[0]["id"]})
    bot = db.insert("res.partner", {"name": "OdooBot", "company_id": False, "active": False, "type": "contact"})
    db.insert("res.users", {"name": "OdooBot", "login": "__system__", "active": False, "partner_id": bot["id"],
                            "company_id": MAIN_COMPANY, "company_ids": [MAIN_COMPANY], "groups_id": [1, 2, 3]})
    db.insert("ir.model.data", {"module": "base", "name": "main_company", "model": "res.company",
                                "res_id": MAIN_COMPANY})
    if db.version == 16:
        template = db.insert("account.chart.template", {"name": "Generic Chart Template", "code": "generic_coa",
                                                        "currency_id": usd})
        db.insert("ir.model.data", {"module": "l10n_generic_coa", "name": "configurable_chart_template",
                                    "model": "account.chart.template", "res_id": template["id"]})
        ensure_pricelist(db, usd)
        company["chart_template_id"] = template["id"]
    root = Env(db, SUPERUSER, {})
    create_warehouse(root, company, "YourCompany", "WH")
    load_chart(root, "generic_coa", company)
    for spec in users or [{"login": CONFIG["login"], "api_key": CONFIG["api_key"], "password": CONFIG["password"]}]:
        add_user(db, spec)
    return db


def add_user(db, spec):
    partner = db.insert("res.partner", {"name": spec["login"], "company_id": False, "active": True,
                                        "type": "contact", "customer_rank": 0})
    groups = [1, 2, SYSTEM_GROUP] if spec.get("admin", True) else [1]
    user = db.insert("res.users", {"name": spec.get("name", spec["login"]), "login": spec["login"], "active": True,
                                   "partner_id": partner["id"], "company_id": MAIN_COMPANY,
                                   "company_ids": [MAIN_COMPANY], "groups_id": groups})
    db.secrets[user["id"]] = {"password": spec.get("password"), "api_keys": [k for k in [spec.get("api_key")] if k]}
    return user


# ------------------------------------------------------------------------------ services

def check_credentials(db, uid, password):
    """security.check: on every object call the key (or password) is checked again."""
    secret = db.secrets.get(uid) if isinstance(uid, int) else None
    user = db.get("res.users", uid) if isinstance(uid, int) else None
    if not secret or not user or not user["active"] or not password or not (
            password == secret["password"] or password in secret["api_keys"]):
        raise access_denied()


def common_service(method, args):
    if method == "version":
        version = CONFIG["version"]
        return {"server_version": f"{version}.0", "server_version_info": [version, 0, 0, "final", 0, ""],
                "server_serie": f"{version}.0", "protocol_version": 1}
    if method in ("authenticate", "login"):
        return authenticate(*args)
    raise KeyError(f"exp_{method}")


def authenticate(db_name, login, password, user_agent_env=None):
    """uid, or false for a wrong login or key (AccessDenied is caught in 16+)."""
    db = database(db_name)
    user = next((u for u in db.where("res.users", login=login) if u["active"]), None)
    try:
        check_credentials(db, user["id"] if user else None, password)
    except OdooError:
        return False
    return user["id"]


def object_service(method, args, warnings):
    if method == "execute_kw":
        db_name, uid, password, model, name, call_args, *rest = args
        kwargs = rest[0] if rest else {}
    elif method == "execute":
        db_name, uid, password, model, name, *call_args = args
        kwargs = {}
    else:
        raise KeyError(method)
    db = database(db_name)
    uid = int(uid)
    check_credentials(db, uid, password)
    kwargs = dict(kwargs or {})
    env = Env(db, uid, kwargs.pop("context", {}), warnings)
    return call_kw(env, model, name, list(call_args or []), kwargs)


def call_kw(env, model_name, name, args, kwargs):
    if name.startswith("_"):
        raise access_error(f"Private methods (such as {name}) cannot be called remotely.")
    model = MODELS.get(model_name)
    if model is None:
        raise user_error(f"Object {model_name} doesn't exist")
    attr = model.rpc_methods.get((name, env.version))
    if attr is None:
        raise AttributeError(f"The method '{name}' does not exist on the model '{model_name}'")
    method = getattr(model, attr)
    if method.rpc_kind == "records":
        if not args:
            raise TypeError(f"{name}() missing 1 required positional argument: 'ids'")
        ids, args = args[0], args[1:]
        return method(env, ids if isinstance(ids, list) else [ids], *args, **kwargs)
    return method(env, *args, **kwargs)


def in_transaction(db, work):
    """One call is one transaction: an error rolls back everything it changed."""
    saved = copy.deepcopy((db.tables, db.next_id, db.secrets))
    try:
        return work()
    except Exception:
        db.tables, db.next_id, db.secrets = saved
        raise


def dispatch(service, method, args, warnings):
    """dispatch_rpc; warnings collects what Odoo would only log (unknown fields)."""
    if not isinstance(args, list):
        raise TypeError("args must be a list")
    if service == "common":
        return common_service(method, args)
    if service == "object":
        def work():
            return object_service(method, args, warnings)
        return in_transaction(database(args[0]), work) if args else work()
    raise KeyError(service)     # the db service (master password) is not simulated


def describe_call(params):
    """What the log shows of a JSON-RPC call, and what fault rules match: rpc is the words
    "object.execute_kw res.partner create", "common.authenticate", ...; db the database named;
    key tells calls apart for once_per_request rules (rpc and a model method's positional
    arguments: the domain, the values or the ids, not the context)."""
    params = params if isinstance(params, dict) else {}
    service, method, args = params.get("service"), params.get("method"), params.get("args")
    args = args if isinstance(args, list) else []
    call = {"service": service, "method": method, "model": None, "model_method": None, "db": None,
            "rpc": f"{service}.{method}" if service else ""}
    call["key"] = call["rpc"]
    if service == "object" and len(args) >= 5:
        call.update(model=str(args[3]), model_method=str(args[4]))
        call["rpc"] += f" {args[3]} {args[4]}"
        call["key"] = call["rpc"] + " " + json.dumps(args[5:6], sort_keys=True, default=str)
    if args and isinstance(args[0], str) and (service == "object" or method in ("authenticate", "login")):
        call["db"] = args[0]
    return call


# ------------------------------------------------------------------------------ HTTP

def fault_matcher(db, call):
    """Matches a rule's db, method (the call's first words) and pattern (a regex on them)."""
    def matches(rule):
        words = call.split()
        wanted = str(rule.get("method") or "").split()
        return ((not rule.get("db") or rule["db"] == db)
                and words[:len(wanted)] == wanted
                and (not rule.get("pattern") or re.search(rule["pattern"], call)))
    return matches


def rpc_envelope(entry, payload):
    return '{"jsonrpc": "2.0", "id": %s, "result": %s}' % (json.dumps(entry["id"]), payload)


# nulls and wrong types where ids, records and lists are expected; error envelopes without
# the shape Odoo gives them
MALFORMED = simcore.malformed_corpus(rpc_envelope, {
    "nulls": "[null, null]", "string": '"x"', "object": "{}", "records": '[{"id": null, "name": 5}]',
    "null": "null", "false": "false",
}, {
    "error_200": lambda entry: {"jsonrpc": "2.0", "id": entry["id"],
                                "error": {"code": 200, "message": None, "data": {"name": 5, "message": None}}},
    "error_string": lambda entry: {"jsonrpc": "2.0", "id": entry["id"], "error": "Injected error"},
})


PROXY_REASONS = {429: "Too Many Requests", 503: "Service Temporarily Unavailable"}


def werkzeug_page(status, title, text):
    return Reply(status, f"<!doctype html>\n<html lang=en>\n<title>{status} {title}</title>\n<h1>{title}</h1>\n"
                         f"<p>{text}</p>\n", content_type="text/html; charset=utf-8")


class ApiHandler(simcore.ApiHandler):
    server_version = "Werkzeug/2.0.2 Python/3.10.12"
    MALFORMED = MALFORMED

    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def handle_api(self, http_method):
        path = urllib.parse.urlsplit(self.path).path
        raw = self.read_raw_body()
        request = self.parse_envelope(http_method, path, raw)
        json_request = isinstance(request, dict)
        call = describe_call(request.get("params") if json_request and path == "/jsonrpc" else None)
        key = call.pop("key")
        entry = simcore.log_request({
            "http_method": http_method, "path": path, **call, "id": request.get("id") if json_request else None,
            "correlation_id": self.headers.get("X-Correlation-ID"),
            "content_type": self.headers.get("Content-Type"),
            "t_start": getattr(self, "received_at", time.time()), "fault": None, "status": None,
            "error": None, "warnings": []})
        self.entry = entry

        def work():     # what a worker does
            self.wait_latency()
            fault = FAULTS.take(fault_matcher(call["db"], call["rpc"]), key)
            self.answer(entry, fault, lambda: self.run(entry, path, request))
        self.admit(entry, call["db"], work)

    # the rate limiter is the proxy's in front of Odoo (nginx's limit_req): a refused request
    # never reaches a worker
    LIMITER_BEFORE_WORKERS = True

    def refusal_reply(self, gate, retry_after):
        """nginx's error page for the limit's status (429, or 503: limit_req's default), with
        the Retry-After the proxy is configured to add."""
        status = gate.limits.get("status", 429)
        title = f"{status} {PROXY_REASONS[status]}"
        page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>"
                f"\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
        return Reply(status, page, [("Retry-After", str(retry_after))], content_type="text/html",
                     server="nginx", reason=PROXY_REASONS[status])

    def parse_envelope(self, http_method, path, raw):
        """The JSON body of a JSON-RPC route, or a Reply refusing the request as Odoo does."""
        if path not in ("/jsonrpc", "/web/webclient/version_info"):
            return werkzeug_page(404, "Not Found", "The requested URL was not found on the server. If you entered "
                                 "the URL manually please check your spelling and try again.")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if http_method != "POST" or ctype not in ("application/json", "application/json-rpc"):
            # 16/17 answer 400; later builds 415 (18 unverified: 400 kept)
            return werkzeug_page(400, "Bad Request", f"Request inferred type is compatible with ['http'] but "
                                 f"'{path}' is type='json'.")
        try:
            request = json.loads(raw)
        except ValueError:
            return Reply(400, "Invalid JSON data", content_type="text/plain; charset=utf-8")
        if not isinstance(request, dict):
            return Reply(400, "Invalid JSON data", content_type="text/plain; charset=utf-8")
        return request

    def canned_reply(self, fault):
        action = fault["action"]
        if action == "status":
            status = fault.get("status", 500)
            reply = werkzeug_page(status, "Injected fault", f"Injected HTTP {status}")
            if fault.get("retry_after") is not None:
                reply.headers.append(("Retry-After", str(fault["retry_after"])))
            return reply
        if action == "error":
            exc = OdooError(fault.get("name", "odoo.exceptions.UserError"), fault.get("message", "Injected error"))
            self.entry["error"] = exc.name
            return Reply(200, {"jsonrpc": "2.0", "id": self.entry["id"], "error": envelope_error(exc)})
        if action == "noop":
            return Reply(200, {"jsonrpc": "2.0", "id": self.entry["id"]})
        return None

    def run(self, entry, path, request):
        """The answer to a parsed request: the result, or the error envelope (HTTP 200)."""
        if isinstance(request, Reply):
            return request
        params = request.get("params", {})
        body = {"jsonrpc": "2.0", "id": request.get("id")}
        with LOCK:
            try:
                if not isinstance(params, dict):
                    raise TypeError("params must be an object")
                if path == "/web/webclient/version_info":
                    result = common_service("version", [])
                else:
                    missing = [k for k in ("service", "method", "args") if k not in params]
                    if missing:     # the route's signature is jsonrpc(service, method, args)
                        raise TypeError(f"jsonrpc() missing required positional arguments: {', '.join(missing)}")
                    result = dispatch(params["service"], params["method"], params["args"], entry["warnings"])
                if result is not None:      # None: neither result nor error
                    body["result"] = result
            except Exception as exc:        # what Odoo's dispatcher turns into the error envelope
                if not isinstance(exc, (OdooError, KeyError, ValueError, TypeError, AttributeError)):
                    traceback.print_exc()
                body["error"] = envelope_error(exc)
                entry["error"] = body["error"]["data"]["name"]
        return Reply(200, body)


# ------------------------------------------------------------------------------ control API

def company_scope(db, name):
    """The companies a summary counts: the named one, or all but the database's first."""
    return [c["id"] for c in db.table("res.company").values()
            if (c["name"] == name if name else c["id"] != MAIN_COMPANY)]


def summary(db, companies):
    def count(model, **values):
        return sum(1 for r in db.table(model).values()
                   if r.get("company_id") in companies and all(r.get(k) == v for k, v in values.items()))
    accounts = sum(1 for a in db.table("account.account").values()
                   if a.get("company_id") in companies or set(a.get("company_ids") or []) & set(companies))
    return {
        "res.company": len(companies), "account.account": accounts, "account.journal": count("account.journal"),
        "account.journal cash": count("account.journal", type="cash"), "stock.warehouse": count("stock.warehouse"),
        "res.partner Walk-In Customer": sum(1 for p in db.table("res.partner").values() if p["name"] ==
                                            "Walk-In Customer" and p.get("company_id") in companies + [False]),
        "pos.payment.method": count("pos.payment.method"), "pos.config": count("pos.config"),
        "pos.session": count("pos.session"), "pos.session opened": count("pos.session", state="opened"),
        "product.template": count("product.template"),
        "product.template available_in_pos": count("product.template", available_in_pos=True),
        "chart_template": sorted({str(db.get("res.company", c).get("chart_template") or
                                      db.get("res.company", c).get("chart_template_id") or "") for c in companies}),
    }


class ControlHandler(simcore.ControlHandler):
    scope = "db"
    refusal_statuses = (429, 503)

    def control_get(self, path, q):
        if path == "/version":
            return {"version": CONFIG["version"]}
        if q.get("db") not in DATABASES:
            return None
        db = DATABASES[q["db"]]
        if path == "/summary":
            return summary(db, company_scope(db, q.get("company")))
        if path == "/records" and q.get("model") in MODELS:
            model = MODELS[q["model"]]
            env = Env(db, SUPERUSER, {"active_test": False})
            match = domain_matcher(env, model, json.loads(q.get("domain") or "[]"))
            return [r for r in db.table(q["model"]).values() if match(r)]
        return None

    def control_post(self, path, body):
        if path == "/reset":
            if not body.get("db"):
                DATABASES.clear()
                DROPPED.clear()
                simcore.forget_everything()
                return {"ok": True}
            name = body["db"]
            DATABASES.pop(name, None)
            simcore.CAPACITY.reset(name)
            if body.get("drop"):
                DROPPED.add(name)
                return {"ok": True, "db": name, "users": []}
            DROPPED.discard(name)
            db = DATABASES[name] = new_database(name, body.get("users") or [])
            return {"ok": True, "db": name, "users": [{"login": u["login"], "uid": uid}
                                                      for uid, u in db.table("res.users").items() if uid in db.secrets]}
        if path == "/pos-sales":
            if body.get("db") not in DATABASES:
                raise simcore.ControlError(404, f"no database {body.get('db')!r}")
            db = DATABASES[body["db"]]
            try:
                made = in_transaction(db, lambda: make_sales(Env(db, SUPERUSER, {}), body.get("company"),
                                                             int(body.get("count", 1)), body.get("seed"),
                                                             body.get("state", "paid")))
            except (ValueError, OdooError) as e:
                raise simcore.ControlError(409, str(e))
            return {"db": db.name, "count": len(made["order_ids"]), **made}
        if path == "/version":
            if int(body.get("version", 0)) not in VERSIONS:
                return None
            CONFIG["version"] = int(body["version"])
            DATABASES.clear()
            return {"version": CONFIG["version"]}
        return None


def main():
    parser = argparse.ArgumentParser(description="Simulated Odoo for tests")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--login", default="admin")
    parser.add_argument("--api-key", default="simsecret")
    parser.add_argument("--password", default="admin")
    parser.add_argument("--version", type=int, choices=VERSIONS, default=17)
    parser.add_argument("--ready-file")
    args = parser.parse_args()
    CONFIG.update(login=args.login, api_key=args.api_key, password=args.password, version=args.version)
    simcore.serve(ApiHandler, ControlHandler, args.port, args.control_port, args.ready_file)


if __name__ == "__main__":
    main()
