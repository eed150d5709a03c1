/*
 * notify.c
 *     provisioning._run_notify(): the trigger on tenant_onboarding that sends NOTIFY
 *     provisioning at commit for every change of a run (spec section 8).
 *
 * It fires at every step boundary, inside the run worker's short transaction, so it is C:
 * one pass over the old and the new steps instead of a query joining them. Each message is
 * {tenant_id, run_id, status, progress, current_step, step, step_status}: one per step whose
 * status changed, in step order, or one with step null when a run is queued or its status
 * changes with no step's. Ids, statuses and progress only: never a message or a secret.
 * provisioning.notify = off sends none: any role that can connect may LISTEN.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/varlena.h"

#include "api.h"
#include "provisioning.h"
#include "run_state.h"
#include "status.h"

PG_FUNCTION_INFO_V1(provisioning_run_notify);

#define CHANNEL "provisioning"

/* A column of the row, or NULL when it is null */
static Datum
column(TriggerData *trigger, HeapTuple tuple, const char *name, bool *isnull)
{
	TupleDesc	desc = trigger->tg_relation->rd_att;
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "tenant_onboarding has no column %s", name);
	return heap_getattr(tuple, attnum, desc, isnull);
}

/* The run's steps, an array (none when tuple is NULL) */
static JsonbContainer *
steps_of(TriggerData *trigger, HeapTuple tuple)
{
	bool		isnull;
	Datum		d;
	Jsonb	   *steps;

	if (tuple == NULL)
		return NULL;
	d = column(trigger, tuple, "provisioning_steps", &isnull);
	if (isnull)
		return NULL;
	steps = DatumGetJsonbP(d);
	if (!JB_ROOT_IS_ARRAY(steps) || JB_ROOT_IS_SCALAR(steps))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the run's steps are not a JSON array")));
	return &steps->root;
}

/* Member key of step i, or NULL when the array has no step i or it lacks the key */
static JsonbValue *
member(JsonbContainer *steps, uint32 i, const char *key, JsonbValue *out)
{
	JsonbValue *element;

	if (steps == NULL || i >= JsonContainerSize(steps))
		return NULL;
	element = getIthJsonbValueFromContainer(steps, i);
	if (element == NULL || element->type != jbvBinary ||
		!JsonContainerIsObject(element->val.binary.data))
		return NULL;
	return getKeyJsonValueFromContainer(element->val.binary.data, key, strlen(key), out);
}

/* A member as ->> gives it: the string, or the JSON of anything else; NULL for null */
static char *
as_text(JsonbValue *v)
{
	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type == jbvString)
		return pnstrdup(v->val.string.val, v->val.string.len);
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, -1);
}

/* Orders step keys as min() does in SQL: by the database's collation */
static int
collation_cmp(const char *a, const char *b)
{
	return varstr_cmp(a, strlen(a), b, strlen(b), DEFAULT_COLLATION_OID);
}

static bool
same_text(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
push_string(JsonbParseState **state, const char *key, const char *value)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
	if (value == NULL)
		v.type = jbvNull;
	else
	{
		v.val.string.val = (char *) value;
		v.val.string.len = strlen(value);
	}
	pushJsonbValue(state, WJB_VALUE, &v);
}

static void
push_value(JsonbParseState **state, const char *key, JsonbValue *value)
{
	JsonbValue	k;
	JsonbValue	null;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &k);
	null.type = jbvNull;
	pushJsonbValue(state, WJB_VALUE, value ? value : &null);
}

typedef struct RunFacts
{
	char	   *tenant_id;
	char	   *run_id;
	char	   *status;
	int			progress;
	char	   *current_step;
} RunFacts;

/* Sends one message: the run's facts and, unless has_step is false, a step's change */
static void
notify_change(const RunFacts *run, bool has_step, JsonbValue *step, JsonbValue *step_status)
{
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue *object;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_string(&state, "tenant_id", run->tenant_id);
	push_string(&state, "run_id", run->run_id);
	push_string(&state, "status", run->status);
	v.type = jbvString;
	v.val.string.val = "progress";
	v.val.string.len = strlen("progress");
	pushJsonbValue(&state, WJB_KEY, &v);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(run->progress);
	pushJsonbValue(&state, WJB_VALUE, &v);
	push_string(&state, "current_step", run->current_step);
	push_value(&state, "step", has_step ? step : NULL);
	push_value(&state, "step_status", has_step ? step_status : NULL);
	object = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	Async_Notify(CHANNEL, JsonbToCString(NULL, &JsonbValueToJsonb(object)->root, -1));
}

Datum
provisioning_run_notify(PG_FUNCTION_ARGS)
{
	TriggerData *trigger = (TriggerData *) fcinfo->context;
	HeapTuple	new_tuple;
	HeapTuple	old_tuple = NULL;
	JsonbContainer *steps;
	JsonbContainer *old_steps;
	RunFacts	run;
	bool		isnull;
	bool		changed_any = false;
	int			total;
	int			current;
	int			run_status;
	JsonbValue *step_values;
	JsonbValue *status_values;
	StepStatus *statuses;
	char	  **keys;
	bool	   *changed;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigger->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigger->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("provisioning._run_notify() must be called as an AFTER ... FOR EACH ROW trigger")));
	if (!prov_notify)
		return PointerGetDatum(NULL);
	if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event))
	{
		old_tuple = trigger->tg_trigtuple;
		new_tuple = trigger->tg_newtuple;
	}
	else
		new_tuple = trigger->tg_trigtuple;

	run.tenant_id = DatumGetCString(DirectFunctionCall1(uuid_out, column(trigger, new_tuple, "tenant_id", &isnull)));
	run.run_id = DatumGetCString(DirectFunctionCall1(uuid_out, column(trigger, new_tuple, "id", &isnull)));
	run.status = TextDatumGetCString(column(trigger, new_tuple, "status", &isnull));
	steps = steps_of(trigger, new_tuple);
	old_steps = steps_of(trigger, old_tuple);

	/* one pass over the steps: their statuses and keys, and which steps' status changed */
	total = steps ? JsonContainerSize(steps) : 0;
	step_values = palloc0(sizeof(JsonbValue) * Max(total, 1));
	status_values = palloc0(sizeof(JsonbValue) * Max(total, 1));
	statuses = palloc0(sizeof(StepStatus) * Max(total, 1));
	keys = palloc0(sizeof(char *) * Max(total, 1));
	changed = palloc0(sizeof(bool) * Max(total, 1));
	for (int i = 0; i < total; i++)
	{
		JsonbValue	old;
		JsonbValue *status_value = member(steps, i, "status", &status_values[i]);
		JsonbValue *step_value = member(steps, i, "step", &step_values[i]);
		char	   *status = as_text(status_value);
		int			s = status ? step_status_of_name(status) : -1;

		if (status_value == NULL)
			status_values[i].type = jbvNull;
		if (step_value == NULL)
			step_values[i].type = jbvNull;
		/* a status this version does not know is neither done nor running, as pending */
		statuses[i] = s >= 0 ? (StepStatus) s : STEP_PENDING;
		keys[i] = as_text(step_value);
		changed[i] = old_tuple != NULL && !same_text(status, as_text(member(old_steps, i, "status", &old)));
	}
	run_status = run_status_of_name(run.status);
	run.progress = run_progress(run_steps_done(statuses, total), total,
								run_status >= 0 ? (RunStatus) run_status : RUN_IN_PROGRESS);
	current = run_current_step(statuses, (const char *const *) keys, total, collation_cmp);
	run.current_step = current >= 0 ? keys[current] : NULL;

	/* one message per step whose status changed, in step order */
	for (int i = 0; i < total; i++)
		if (changed[i])
		{
			notify_change(&run, true, &step_values[i], &status_values[i]);
			changed_any = true;
		}
	if (!changed_any)
	{
		char	   *old_status = old_tuple ? TextDatumGetCString(column(trigger, old_tuple, "status", &isnull)) : NULL;

		if (old_tuple == NULL || strcmp(old_status, run.status) != 0)
			notify_change(&run, false, NULL, NULL);
	}
	return PointerGetDatum(NULL);
}
