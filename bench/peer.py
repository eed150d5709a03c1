#!/usr/bin/env python3
"""The peer: the ten provisioning steps run by an application-side provisioner, the way
the original system did it (a backend task: sequential, standard library HTTP client,
one connection per request, check-then-create), against the same simulated ERPNext.

Usage: peer.py BASE_URL API_KEY API_SECRET COMPANY ABBR
Prints the wall time in milliseconds.
"""
import datetime
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class Engine:
    def __init__(self, base, key, secret):
        # *.localhost is loopback (RFC 6761); the standard resolver does not know that, so
        # connect to 127.0.0.1 and name the site in the Host header.
        parts = urllib.parse.urlsplit(base.rstrip("/"))
        self.host = parts.netloc
        self.base = f"{parts.scheme}://127.0.0.1:{parts.port}{parts.path}"
        self.auth = f"token {key}:{secret}"

    def call(self, method, path, body=None, query=None):
        url = self.base + urllib.parse.quote(path) + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Host": self.host, "Authorization": self.auth, "Accept": "application/json",
                                              "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def get(self, doctype, name):
        return self.call("GET", f"/api/resource/{doctype}/{name}")

    def find(self, doctype, filters):
        _, body = self.call("GET", f"/api/resource/{doctype}", query={"filters": json.dumps(filters)})
        return body["data"][0]["name"] if body.get("data") else None

    def ensure(self, doctype, name, body):
        status, _ = self.get(doctype, name)
        if status == 404:
            status, _ = self.call("POST", f"/api/resource/{doctype}", body)
            assert status == 200, (doctype, status)


def provision(e, company, abbr):
    today = datetime.date.today()
    assert e.call("GET", "/api/method/frappe.auth.get_logged_user")[0] == 200
    if not e.find("Fiscal Year", [["year_start_date", "<=", str(today)], ["year_end_date", ">=", str(today)]]):
        e.call("POST", "/api/resource/Fiscal Year", {"year": str(today.year), "year_start_date": f"{today.year}-01-01",
                                                      "year_end_date": f"{today.year}-12-31"})
    e.ensure("Company", company, {"company_name": company, "abbr": abbr, "default_currency": "USD",
                                  "country": "United States", "chart_of_accounts": "Standard"})
    _, count = e.call("GET", "/api/method/frappe.client.get_count",
                      query={"doctype": "Account", "filters": json.dumps({"company": company})})
    assert count["message"] > 0
    for wh in ["Main Store", "POS Store"]:
        e.ensure("Warehouse", f"{wh} - {abbr}", {"warehouse_name": wh, "company": company,
                                                 "parent_warehouse": f"All Warehouses - {abbr}"})
    e.get("Stock Settings", "Stock Settings")
    e.call("PUT", "/api/resource/Stock Settings/Stock Settings", {"default_warehouse": f"Main Store - {abbr}",
                                                                  "allow_negative_stock": 1})
    e.get("Selling Settings", "Selling Settings")
    e.call("PUT", "/api/resource/Selling Settings/Selling Settings",
           {"customer_group": "Individual", "territory": "All Territories", "selling_price_list": "Standard Selling"})
    if not e.find("Customer", [["customer_name", "=", "Walk-In Customer"]]):
        e.call("POST", "/api/resource/Customer", {"customer_name": "Walk-In Customer", "customer_type": "Individual",
                                                  "customer_group": "Individual", "territory": "All Territories"})
    _, comp = e.get("Company", company)
    profile = f"{company} POS"
    e.ensure("POS Profile", profile, {
        "name": profile, "company": company, "warehouse": f"POS Store - {abbr}", "currency": "USD",
        "write_off_account": comp["data"]["write_off_account"], "write_off_cost_center": comp["data"]["cost_center"],
        "customer": "Walk-In Customer", "payments": [{"mode_of_payment": "Cash", "default": 1}]})
    if not e.find("POS Opening Entry", [["pos_profile", "=", profile], ["status", "=", "Open"]]):
        now = datetime.datetime.now()
        e.call("POST", "/api/resource/POS Opening Entry", {
            "pos_profile": profile, "company": company, "user": "Administrator", "docstatus": 1,
            "period_start_date": now.strftime("%Y-%m-%d %H:%M:%S"), "posting_date": str(today),
            "balance_details": [{"mode_of_payment": "Cash", "opening_amount": 0}]})


if __name__ == "__main__":
    base, key, secret, company, abbr = sys.argv[1:6]
    start = time.perf_counter()
    provision(Engine(base, key, secret), company, abbr)
    print(f"{(time.perf_counter() - start) * 1000:.1f}")
