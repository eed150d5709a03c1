"""What the simulated ERPNext's doctypes (erpnext_sim.py, erpnext_pos.py) share, as Frappe's
document layer has it: the error a controller throws (status, exc_type, message), timestamps,
list filters, and the mandatory, link and duplicate checks. Standard library only."""

import datetime
import fnmatch
import json

class FrappeError(Exception):
    """title: the message's title in _server_messages (frappe.throw's title), "Message" by default."""

    def __init__(self, status, exc_type, message=None, title=None):
        super().__init__(message or exc_type)
        self.status, self.exc_type, self.message, self.title = status, exc_type, message, title or "Message"


def validation(message, exc_type="ValidationError", title=None):
    return FrappeError(417, exc_type, message, title)


def as_list(messages):
    """frappe.throw(..., as_list=True): the messages as an HTML list."""
    return "<ul>" + "".join(f"<li>{m}</li>" for m in messages) + "</ul>"


def bold(text):
    return f"<strong>{text}</strong>"


def now():
    return datetime.datetime.now()


def stamp():
    return now().strftime("%Y-%m-%d %H:%M:%S.%f")


# ------------------------------------------------------------------------------ filters

def loose(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def compare(have, op, want):
    op = op.lower()
    if op == "is":
        is_set = have not in (None, "")
        return is_set if str(want).lower() == "set" else not is_set
    if op in ("in", "not in"):
        values = want if isinstance(want, list) else [w.strip() for w in str(want).split(",")]
        found = loose(have) in [loose(w) for w in values]
        return found if op == "in" else not found
    if op in ("like", "not like"):
        pattern = str(want).replace("%", "*").replace("_", "?")
        found = fnmatch.fnmatchcase(str(have or ""), pattern)
        return found if op == "like" else not found
    a, b = loose(have if have is not None else ""), loose(want)
    if type(a) is not type(b):
        a, b = str(have if have is not None else ""), str(want)
    return {"=": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def parse_filters(raw):
    if raw in (None, ""):
        return []
    filters = json.loads(raw) if isinstance(raw, str) else raw
    conditions = []
    if isinstance(filters, dict):
        for field, value in filters.items():
            if isinstance(value, list):
                conditions.append((field, value[0], value[1] if len(value) > 1 else None))
            else:
                conditions.append((field, "=", value))
    else:
        for cond in filters:
            if len(cond) == 4:
                cond = cond[1:]
            conditions.append((cond[0], cond[1], cond[2] if len(cond) > 2 else None))
    return conditions


def matches(doc, conditions):
    return all(compare(doc.get(f), op, v) for f, op, v in conditions)


# ------------------------------------------------------------------------------ doctype rules

def require(doc, doctype, *fields):
    missing = [f for f in fields if doc.get(f) in (None, "", [])]
    if missing:
        raise FrappeError(417, "MandatoryError", f"[{doctype}, {doc.get('name', 'new')}]: {', '.join(missing)}")


def require_link(site, doctype, value, label):
    if value not in (None, "") and site.get(doctype, value) is None:
        raise validation(f"Could not find {label}: {value}", "LinkValidationError")


def duplicate(doctype, name):
    return FrappeError(409, "DuplicateEntryError", f"{doctype} <strong>{name}</strong> already exists")


# ------------------------------------------------------------------------------ lists

def json_arg(value, default):
    """A list argument as Frappe takes it: JSON text, or already a list (a JSON body)."""
    if value in (None, ""):
        return default
    return json.loads(value) if isinstance(value, str) else value


def sort_rows(rows, order_by):
    """order_by as SQL has it ("creation asc, name desc"); Python's sort is stable, so equal
    keys keep the order the documents were made in."""
    for part in reversed([p.split() for p in order_by.split(",") if p.strip()]):
        field = part[0].replace("`", "").rpartition(".")[2]
        rows.sort(key=lambda d, f=field: (d.get(f) is not None, loose(d.get(f)) if d.get(f) is not None else 0),
                  reverse=len(part) > 1 and part[1].lower() == "desc")
    return rows


def select(doc, fields):
    """The rows a document gives for the fields: "*" (its own columns, no child table),
    "field", "field as alias" and "<table field>.<child field> [as alias]", which left-joins
    the child table: one row per child (a row of nulls when it has none)."""
    columns, joined = [], {}
    for spec in fields:
        name, _, alias = (part.strip() for part in spec.partition(" as "))
        table, _, child_field = name.rpartition(".")
        if table:
            joined.setdefault(table, []).append((child_field, alias or child_field))
        elif name == "*":
            columns += [(f, f) for f, v in doc.items() if not isinstance(v, list)]
        else:
            columns.append((name, alias or name))
    rows = [{alias: doc.get(f) for f, alias in columns}]
    for table, wanted in joined.items():
        children = doc.get(table) or [{}]
        rows = [{**row, **{alias: child.get(f) for f, alias in wanted}} for row in rows for child in children]
    return rows


def get_list(docs, args):
    """frappe.client.get_list (GET /api/resource/<doctype>): fields (default ["name"]),
    filters, order_by (default "docstatus asc, modified desc"), limit_start and
    limit_page_length (default limit, else 20; 0: all), which count joined rows."""
    conditions = parse_filters(args.get("filters"))
    rows = sort_rows([d for d in docs if matches(d, conditions)], args.get("order_by") or "docstatus asc, modified desc")
    rows = [row for d in rows for row in select(d, json_arg(args.get("fields"), ["name"]))]
    start = int(args.get("limit_start") or 0)
    limit = int(args.get("limit_page_length", args.get("limit", 20)) or 0)
    return rows[start:start + limit] if limit else rows[start:]


def without_nulls(doc):
    """as_dict(no_nulls=True): a read leaves out null fields, in child rows too."""
    return {k: [without_nulls(r) for r in v] if isinstance(v, list) and v and isinstance(v[0], dict) else v
            for k, v in doc.items() if v is not None}
