"""What the simulated ERPNext's doctypes (erpnext_sim.py, erpnext_pos.py) share, as Frappe's
document layer has it: the error a controller throws (status, exc_type, message), timestamps,
list filters, and the mandatory, link and duplicate checks. Standard library only."""

import datetime
import fnmatch
import json

class FrappeError(Exception):
    def __init__(self, status, exc_type, message=None):
        super().__init__(message or exc_type)
        self.status, self.exc_type, self.message = status, exc_type, message


def validation(message, exc_type="ValidationError"):
    return FrappeError(417, exc_type, message)


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
