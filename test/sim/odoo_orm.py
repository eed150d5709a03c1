"""The simulated Odoo's ORM (odoo_sim.py): the exceptions as Odoo serializes them, fields,
a database's tables, the environment (who calls, with which companies), domains, and the
Model base class with the ORM's public methods (search, search_read, read, create, write,
...). The models themselves are in odoo_sim.py and odoo_pos.py; MODELS is filled there.
Standard library only."""

import re

SUPERUSER = 1
SYSTEM_GROUP = 3        # base.group_system (Settings); seeded in odoo_sim.new_database
MODELS = {}             # name -> Model instance, filled by odoo_sim.py

# ------------------------------------------------------------------------------ errors

class OdooError(Exception):
    """An exception as Odoo serializes it into the error envelope."""

    def __init__(self, name, message, arguments=None):
        super().__init__(message)
        self.name, self.message = name, message
        self.arguments = arguments if arguments is not None else [message]


def user_error(message):
    return OdooError("odoo.exceptions.UserError", message)


def validation_error(message):
    return OdooError("odoo.exceptions.ValidationError", message)


def access_error(message):
    return OdooError("odoo.exceptions.AccessError", message)


def access_denied():
    return OdooError("odoo.exceptions.AccessDenied", "Access Denied")


def sql_constraint(message):
    # IntegrityErrors come back as ValidationError (odoo/service/model.py)
    return validation_error(f"The operation cannot be completed: {message}")


def not_null(model, field):
    return validation_error(
        "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n"
        "- Delete: another model requires the record being deleted. If possible, archive it instead.\n\n"
        f"Model: {model.description} ({model.name})\nField: {field.string} ({field.name})")


def rule_error(env, model, rec, operation):
    # the record-rule refusal of 17 (odoo/models.py, _make_access_error)
    return access_error(
        "Uh-oh! Looks like you have stumbled upon some top-secret records.\n\n"
        f"Sorry, {env.user['name']} (id={env.uid}) doesn't have '{operation}' access to:\n"
        f"- {model.description}, {display_name(rec)} ({model.name}: {rec['id']})\n\n"
        "If you really, really need access, perhaps you can win over your friendly administrator "
        "with a batch of freshly baked cookies.")


def envelope_error(exc):
    """Any exception as Odoo's serialize_exception() shows it."""
    if isinstance(exc, OdooError):
        name, message, arguments = exc.name, exc.message, exc.arguments
    else:
        name = f"builtins.{type(exc).__name__}"
        message, arguments = str(exc), list(exc.args)
    debug = "Traceback (most recent call last):\n  (simulated)\n" + f"{name}: {message}\n"
    return {"code": 200, "message": "Odoo Server Error",      # 200 in 16/17; 18 unverified, kept
            "data": {"name": name, "message": message, "arguments": arguments, "context": {},
                     "debug": debug}}


# ------------------------------------------------------------------------------ fields

class Field:
    """required: a bool, or the versions in which the field is required; selection: the
    values, or a function of the version giving them."""

    def __init__(self, kind, string, comodel=None, required=False, size=None, selection=None,
                 default=None, check_company=False, compute=None, versions=(16, 17, 18)):
        self.kind, self.string, self.comodel = kind, string, comodel
        self.required, self.size, self.selection = required, size, selection
        self.default, self.check_company, self.compute, self.versions = default, check_company, compute, versions
        self.name = None

    def is_required(self, version):
        return version in self.required if isinstance(self.required, tuple) else self.required

    def choices(self, version):
        return self.selection(version) if callable(self.selection) else self.selection


def char(string, **kw):
    return Field("char", string, **kw)


def boolean(string, **kw):
    return Field("boolean", string, **kw)


def number(string, kind="integer", **kw):
    return Field(kind, string, **kw)


def selection(string, values, **kw):
    return Field("selection", string, selection=values, **kw)


def many2one(comodel, string, **kw):
    return Field("many2one", string, comodel=comodel, **kw)


def many2many(comodel, string, **kw):
    return Field("many2many", string, comodel=comodel, **kw)


def one2many(comodel, inverse, string, **kw):
    """The records of comodel whose inverse field points here, read as ids (not writable here)."""
    return Field("one2many", string, comodel=comodel, compute=lambda env, rec: [
        r["id"] for r in env.db.table(comodel).values() if r.get(inverse) == rec["id"]], **kw)


def display_name(rec):
    return rec.get("name") or f"{rec['id']}"


# ------------------------------------------------------------------------------ databases

class Database:
    def __init__(self, name, version):
        self.name, self.version = name, version
        self.tables = {}            # model -> {id: record}
        self.next_id = {}
        self.secrets = {}           # uid -> {"password", "api_keys"}; never readable over RPC

    def table(self, model):
        return self.tables.setdefault(model, {})

    def insert(self, model, values):
        rec_id = self.next_id.get(model, 1)
        self.next_id[model] = rec_id + 1
        rec = dict(values, id=rec_id)
        self.table(model)[rec_id] = rec
        return rec

    def get(self, model, rec_id):
        return self.table(model).get(rec_id)

    def where(self, model, **values):
        return [r for r in self.table(model).values() if all(r.get(k) == v for k, v in values.items())]


class Env:
    """Who calls, in which database, with which companies (odoo/api.py Environment)."""

    def __init__(self, db, uid, context, warnings=None):
        self.db, self.uid, self.version = db, uid, db.version
        self.context = context if isinstance(context, dict) else {}
        self.user = db.get("res.users", uid)
        self.warnings = warnings if warnings is not None else []
        self.su = uid == SUPERUSER
        allowed = self.context.get("allowed_company_ids") or []
        # res.users._get_company_ids: the user's active companies only
        active = [c for c in self.user["company_ids"] if db.get("res.company", c)["active"]]
        if allowed and not self.su and set(allowed) - set(active):
            raise access_error("Access to unauthorized or invalid companies.")
        self.companies = list(allowed) or active
        self.company = allowed[0] if allowed else self.user["company_id"]

    def is_admin(self):
        return self.su or SYSTEM_GROUP in self.user["groups_id"]

    def sudo(self):
        return Env(self.db, SUPERUSER, {**self.context, "allowed_company_ids": []}, self.warnings)


# ------------------------------------------------------------------------------ domains and values

def field_of(env, model, name, where):
    fields = model.fields(env.version)
    if name == "id":
        return None
    if name not in fields:
        raise ValueError(f"Invalid field {model.name}.{name} in leaf {where}")
    return fields[name]


def value_of(env, model, rec, path, where):
    """The stored (or computed) value at a dotted path: many2one as id, many2many as ids."""
    name, _, rest = path.partition(".")
    field = field_of(env, model, name, where)
    value = rec["id"] if field is None else (field.compute(env, rec) if field.compute else rec.get(name, False))
    if rest:
        if field is None or field.kind != "many2one":
            raise ValueError(f"Invalid path {path} in leaf {where}")
        target = env.db.get(field.comodel, value) if value else None
        return value_of(env, MODELS[field.comodel], target, rest, where) if target else False
    return value


def leaf_matches(env, model, rec, leaf):
    path, op, want = leaf
    if path in (0, 1) and op == "=":
        return path == want         # (1, '=', 1) and (0, '=', 1): TRUE_LEAF / FALSE_LEAF
    have = value_of(env, model, rec, path, tuple(leaf))
    haves = have if isinstance(have, list) else [have]
    if op in ("=", "!="):
        found = (not haves) if want is False and isinstance(have, list) else want in haves
        return found if op == "=" else not found
    if op in ("in", "not in"):
        wants = want if isinstance(want, (list, tuple)) else [want]
        found = any(h in wants for h in haves) or (False in wants and not haves)
        return found if op == "in" else not found
    if op in ("like", "ilike", "not like", "not ilike", "=like", "=ilike"):
        text, pattern = str(have or ""), str(want)
        if op.endswith("ilike"):
            text, pattern = text.lower(), pattern.lower()
        if op.startswith("="):
            found = re.fullmatch(re.escape(pattern).replace("%", ".*").replace("_", "."), text) is not None
        else:
            found = pattern in text
        return not found if op.startswith("not") else found
    if op in ("<", "<=", ">", ">="):
        if have is False or want is False:
            return False
        return {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]
    raise ValueError(f"Invalid operator {op!r} in leaf {tuple(leaf)}")


def domain_matcher(env, model, domain):
    """A predicate for a domain in Polish notation ('&', '|', '!'; leaves are and-ed)."""
    if not isinstance(domain, list):
        raise ValueError(f"Invalid domain {domain!r}")

    def parse(i):
        token = domain[i]
        if token == "!":
            inner, j = parse(i + 1)
            return (lambda r: not inner(r)), j
        if token in ("&", "|"):
            left, j = parse(i + 1)
            right, k = parse(j)
            if token == "&":
                return (lambda r: left(r) and right(r)), k
            return (lambda r: left(r) or right(r)), k
        if not isinstance(token, (list, tuple)) or len(token) != 3:
            raise ValueError(f"Invalid leaf {token!r}")
        if token[0] not in (0, 1):      # checked up front, as Odoo does, not only on a match
            field_of(env, model, str(token[0]).split(".")[0], tuple(token))
        return (lambda r: leaf_matches(env, model, r, token)), i + 1

    terms, i = [], 0
    while i < len(domain):
        term, i = parse(i)
        terms.append(term)
    return lambda rec: all(t(rec) for t in terms)


def read_value(env, field, rec):
    value = field.compute(env, rec) if field.compute else rec.get(field.name, False)
    if field.kind == "many2one" and value:
        target = env.db.get(field.comodel, value)
        return [value, display_name(target)] if target else False
    if field.kind == "many2many":
        return list(value or [])
    return False if value is None else value


def m2m_commands(current, commands):
    """Applies x2many commands ([6, 0, ids], [4, id], [3, id], [5]; or a plain id list)."""
    ids = list(current or [])
    if commands and all(isinstance(c, int) for c in commands):
        return list(commands)
    for command in commands or []:
        code = command[0]
        if code == 6:
            ids = list(command[2])
        elif code == 4:
            ids = ids if command[1] in ids else ids + [command[1]]
        elif code == 3:
            ids = [i for i in ids if i != command[1]]
        elif code == 5:
            ids = []
        else:
            raise ValueError(f"Unsupported x2many command {command!r}")
    return ids


# ------------------------------------------------------------------------------ models

def rpc(kind, versions=(16, 17, 18), name=None):
    """Marks a method callable over RPC as name (default: its own) in those versions: kind
    "model" (@api.model: no ids) or "records" (the first positional argument is the ids)."""
    def mark(fn):
        fn.rpc_kind, fn.rpc_versions, fn.rpc_name = kind, versions, name or fn.__name__
        fn.__qualname__ = fn.rpc_name       # Odoo's TypeError texts name the bare method
        return fn
    return mark


class Model:
    """A model's fields, rules and methods. Records are plain dicts in the Database."""

    name = description = None
    company_field = "company_id"        # the multi-company record rule's field, or None
    has_active = False
    unique = ()                         # (fields, message): SQL unique constraints
    default_order = "id"                # _order
    field_defs = {}

    def __init_subclass__(cls):
        cls.rpc_methods = {}        # (name, version) -> attribute
        for attr in dir(cls):
            fn = getattr(cls, attr)
            for version in getattr(fn, "rpc_versions", ()):
                cls.rpc_methods[(fn.rpc_name, version)] = attr
        defs = {}
        for base in reversed(cls.__mro__):
            defs.update(vars(base).get("field_defs", {}))
        for fname, field in defs.items():
            field.name = fname
        cls.all_fields = defs

    def fields(self, version):
        return {n: f for n, f in self.all_fields.items() if version in f.versions}

    # -------------------------------------------------------------- visibility and rules

    def visible(self, env, rec):
        if env.su or self.company_field is None:
            return True
        value = rec.get(self.company_field)
        if isinstance(value, list):
            return not value or any(c in env.companies for c in value)
        return not value or value in env.companies

    def active_ok(self, env, rec, domain):
        if not self.has_active or env.context.get("active_test", True) is False:
            return True
        if any(isinstance(leaf, (list, tuple)) and leaf and leaf[0] == "active" for leaf in domain):
            return True
        return rec.get("active", True)

    def browse(self, env, ids, operation="read"):
        ids = ids if isinstance(ids, list) else [ids]
        recs = []
        for rec_id in ids:
            rec = env.db.get(self.name, rec_id) if isinstance(rec_id, int) else None
            if rec is None:
                raise OdooError("odoo.exceptions.MissingError",
                                f"Record does not exist or has been deleted.\n(Record: {self.name}({rec_id},), "
                                f"User: {env.uid})")
            if not self.visible(env, rec):
                raise rule_error(env, self, rec, operation)
            recs.append(rec)
        return recs

    def find(self, env, domain, order=None):
        match = domain_matcher(env, self, domain)
        rows = [r for r in env.db.table(self.name).values()
                if self.visible(env, r) and self.active_ok(env, r, domain) and match(r)]
        for part in reversed([p.split() for p in (order or self.default_order).split(",") if p.strip()]):
            rows.sort(key=lambda r, f=part[0]: (r.get(f) is False, r.get(f)),
                      reverse=len(part) > 1 and part[1].lower() == "desc")
        return rows

    # -------------------------------------------------------------- values

    def clean(self, env, vals, operation):
        """Drops unknown and computed fields (with a warning, as Odoo), truncates sized chars,
        checks selections and that many2one targets exist."""
        if not isinstance(vals, dict):
            raise ValueError(f"Invalid values {vals!r}")
        fields = self.fields(env.version)
        unknown = sorted(k for k in vals if k not in fields or fields[k].compute)
        if unknown:
            env.warnings.append(f"{self.name}.{operation}() includes unknown fields: {', '.join(unknown)}")
        cleaned = {}
        for key, value in vals.items():
            if key in unknown:
                continue
            field = fields[key]
            if field.kind == "char" and field.size and isinstance(value, str):
                value = value[:field.size]
            if field.kind == "selection" and value is not False and value not in field.choices(env.version):
                raise ValueError(f"Wrong value for {self.name}.{key}: {value!r}")
            if field.kind == "many2one" and value and not env.db.get(field.comodel, value):
                raise not_null(self, field)     # a foreign key violation, converted alike
            cleaned[key] = value
        return cleaned

    def defaults(self, env, vals):
        """Default values for the fields create did not get."""
        out = {}
        for fname, field in self.fields(env.version).items():
            if fname in vals or field.compute:
                continue
            if callable(field.default):
                out[fname] = field.default(env, vals)
            elif field.default is not None:
                out[fname] = field.default
            elif field.kind == "many2many":
                out[fname] = []
            else:
                out[fname] = False
        return out

    def validate(self, env, rec):
        for field in self.fields(env.version).values():
            if field.is_required(env.version) and rec.get(field.name) in (False, None, ""):
                raise not_null(self, field)
        for fields, message in self.unique:
            key = tuple(rec.get(f) for f in fields)
            if any(tuple(o.get(f) for f in fields) == key for o in env.db.table(self.name).values()
                   if o["id"] != rec["id"]):
                raise sql_constraint(message)
        self.check_companies(env, rec)
        self.constrain(env, rec)

    def check_companies(self, env, rec):
        """check_company fields must point at the record's company or a shared record."""
        company = rec.get("company_id")
        if not company:
            return
        for field in self.fields(env.version).values():
            if not field.check_company or not rec.get(field.name):
                continue
            targets = rec[field.name] if isinstance(rec[field.name], list) else [rec[field.name]]
            for target_id in targets:
                target = env.db.get(field.comodel, target_id)
                if target and target.get("company_id") not in (False, company):
                    raise user_error(
                        f"Incompatible companies on records:\n- '{display_name(rec)}' belongs to company "
                        f"'{display_name(env.db.get('res.company', company))}' and '{field.string}' "
                        f"({field.name}: '{display_name(target)}') belongs to another company.")

    def constrain(self, env, rec):
        """Python constraints (@api.constrains)."""

    def after_create(self, env, rec):
        """Side effects of create."""

    def before_write(self, env, rec, vals):
        """Refusals and side effects of write, before the values change."""

    def create_one(self, env, vals):
        vals = self.clean(env, vals, "create")
        vals = {**self.defaults(env, vals), **vals}
        for fname, value in list(vals.items()):
            if self.all_fields[fname].kind == "many2many":
                vals[fname] = m2m_commands([], value)
        rec = env.db.insert(self.name, vals)
        if not self.visible(env, rec):
            raise rule_error(env, self, rec, "create")
        self.validate(env, rec)
        self.after_create(env, rec)
        return rec

    def write_one(self, env, rec, vals):
        vals = self.clean(env, vals, "write")
        self.before_write(env, rec, vals)
        for fname, value in vals.items():
            rec[fname] = m2m_commands(rec.get(fname), value) if self.all_fields[fname].kind == "many2many" else value
        if not self.visible(env, rec):
            raise rule_error(env, self, rec, "write")
        self.validate(env, rec)

    # -------------------------------------------------------------- the ORM's public methods

    @rpc("model")
    def search(self, env, domain, offset=0, limit=None, order=None):
        rows = self.find(env, domain, order)[offset:]
        return [r["id"] for r in (rows[:limit] if limit else rows)]

    @rpc("model")
    def search_count(self, env, domain, limit=None):
        count = len(self.find(env, domain))
        return min(count, limit) if limit else count

    @rpc("model")
    def search_read(self, env, domain=None, fields=None, offset=0, limit=None, order=None):
        return self.read(env, self.search(env, domain or [], offset, limit, order), fields)

    @rpc("records")
    def read(self, env, ids, fields=None, load="_classic_read"):
        known = self.fields(env.version)
        for fname in fields or []:
            if fname != "id" and fname not in known:
                raise ValueError(f"Invalid field {fname!r} on model {self.name!r}")
        wanted = [f for f in (fields or known) if f != "id"]
        return [{"id": rec["id"], **{f: read_value(env, known[f], rec) for f in wanted}}
                for rec in self.browse(env, ids)]

    @rpc("model")
    def create(self, env, vals_list):
        if isinstance(vals_list, dict):
            return self.create_one(env, vals_list)["id"]
        return [self.create_one(env, vals)["id"] for vals in vals_list]

    @rpc("records")
    def write(self, env, ids, vals):
        for rec in self.browse(env, ids, "write"):
            self.write_one(env, rec, vals)
        return True

    @rpc("records")
    def toggle_active(self, env, ids):
        for rec in self.browse(env, ids, "write"):
            self.write_one(env, rec, {"active": not rec["active"]})
        return None

    @rpc("records")
    def action_archive(self, env, ids):
        return self.toggle_active(env, [r["id"] for r in self.browse(env, ids) if r["active"]])

    @rpc("records")
    def action_unarchive(self, env, ids):
        return self.toggle_active(env, [r["id"] for r in self.browse(env, ids) if not r["active"]])

    @rpc("records")
    def unlink(self, env, ids):
        for rec in self.browse(env, ids, "unlink"):
            del env.db.table(self.name)[rec["id"]]
        return True

    @rpc("model")
    def fields_get(self, env, allfields=None, attributes=None):
        described = {}
        for fname, field in self.fields(env.version).items():
            if allfields and fname not in allfields:
                continue
            info = {"type": field.kind, "string": field.string, "required": field.is_required(env.version),
                    "readonly": bool(field.compute)}
            if field.comodel:
                info["relation"] = field.comodel
            if field.selection:
                info["selection"] = [[v, v] for v in field.choices(env.version)]
            if field.size:
                info["size"] = field.size
            described[fname] = {k: v for k, v in info.items() if not attributes or k in attributes}
        return described


def company_default(env, vals):
    return env.company


def company_currency(env, vals):
    return env.db.get("res.company", vals.get("company_id") or env.company)["currency_id"]
