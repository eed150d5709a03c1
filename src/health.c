/*
 * health.c
 *     engine_health(): probe engines, all at once, and cache the answers per engine.
 *
 * The probe is the driver's authenticated read-only request. All engines not in the
 * cache are probed concurrently with one libcurl multi handle under one deadline, so
 * offline engines answer within the connect timeout however many are asked about. The
 * cache lives in shared memory, holds at most HEALTH_CACHE_SIZE answers (the oldest
 * goes first), and works in read-only transactions (PostgREST GET). A probe is one of the
 * engine's requests (engine_limits.c): one without a slot by the deadline is not sent, its
 * answer not cached; a refusal (http_throttled) pauses the engine for every process.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/hsearch.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "api.h"
#include "driver.h"
#include "engine_outage.h"
#include "health.h"
#include "http.h"
#include "json.h"
#include "provisioning.h"

PG_FUNCTION_INFO_V1(provisioning_engine_health);

typedef struct Probe
{
	char	   *engine;
	HealthKey	key;			/* set once the engine row is read */
	HealthEntry answer;			/* what is reported */
	bool		cached;
	bool		known;			/* the engine row exists and has a driver */
	const EngineDriver *driver;
	ProbeRequest request;		/* url NULL: nothing to send */
	EngineLimits limits;
	bool		holds_slot;
	bool		unsent;			/* no slot came in time: not cached */
	CURL	   *handle;
	struct curl_slist *headers;
	HttpResponse response;
} Probe;

/* The error may quote the engine at any length: it is cut between characters. */
static void
set_answer(Probe *p, const char *status, const char *error)
{
	strlcpy(p->answer.status, status, sizeof(p->answer.status));
	http_copy_text(p->answer.error, error ? error : "", sizeof(p->answer.error));
}

static void
make_key(HealthKey *key, const char *engine, const char *const *row, int ncols)
{
	memset(key, 0, sizeof(HealthKey));
	key->database = MyDatabaseId;
	strlcpy(key->engine, engine, ENGINE_NAME_LEN);
	for (int i = 0; i < ncols; i++)
		key->fingerprint = hash_combine64(key->fingerprint,
										  row[i] ? hash_bytes_extended((const unsigned char *) row[i],
																	   strlen(row[i]), i)
										  : (uint64) i);
}

static void
read_cache(Probe *probes, int n)
{
	TimestampTz now = GetCurrentTimestamp();

	LWLockAcquire(prov_shared->health_lock, LW_SHARED);
	for (int i = 0; i < n; i++)
	{
		HealthEntry *e;

		if (!probes[i].known)
			continue;
		e = hash_search(prov_health_cache, &probes[i].key, HASH_FIND, NULL);
		if (e && now - e->checked_at < (int64) prov_health_cache_ttl * USECS_PER_SEC)
		{
			probes[i].answer = *e;
			probes[i].cached = true;
		}
	}
	LWLockRelease(prov_shared->health_lock);
}

/* Makes room for one more answer: an expired one goes, else the oldest. */
static void
evict_one(void)
{
	HASH_SEQ_STATUS scan;
	HealthEntry *e;
	HealthEntry *oldest = NULL;

	hash_seq_init(&scan, prov_health_cache);
	while ((e = hash_seq_search(&scan)) != NULL)
		if (oldest == NULL || e->checked_at < oldest->checked_at)
			oldest = e;
	if (oldest)
		hash_search(prov_health_cache, &oldest->key, HASH_REMOVE, NULL);
}

static void
write_cache(Probe *probes, int n)
{
	LWLockAcquire(prov_shared->health_lock, LW_EXCLUSIVE);
	for (int i = 0; i < n; i++)
	{
		HealthEntry *e;

		if (probes[i].cached || !probes[i].known || probes[i].unsent)
			continue;
		if (hash_search(prov_health_cache, &probes[i].key, HASH_FIND, NULL) == NULL &&
			hash_get_num_entries(prov_health_cache) >= HEALTH_CACHE_SIZE)
			evict_one();
		e = hash_search(prov_health_cache, &probes[i].key, HASH_ENTER, NULL);
		probes[i].answer.key = probes[i].key;
		*e = probes[i].answer;
	}
	LWLockRelease(prov_shared->health_lock);
}

/* Reads the engine rows: the cache key, and what a probe needs when it is not cached. */
static void
load_engines(Probe *probes, int n)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	MemoryContext caller = CurrentMemoryContext;

	SPI_connect();
	for (int i = 0; i < n; i++)
	{
		Probe	   *p = &probes[i];
		const char *row[7];

		values[0] = CStringGetTextDatum(p->engine);
		if (SPI_execute_with_args("SELECT kind, base_url, api_key, api_secret, options::text,"
								  " max_concurrent_requests, requests_per_second"
								  " FROM provisioning.engines WHERE name = $1",
								  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read provisioning.engines");
		if (SPI_processed == 0)
		{
			set_answer(p, "offline", "no such engine");
			continue;
		}
		for (int c = 0; c < lengthof(row); c++)
			row[c] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, c + 1);
		p->driver = driver_for_kind(row[0]);
		if (p->driver == NULL)
		{
			set_answer(p, "offline", "there is no driver for this kind of engine in this version");
			continue;
		}
		p->known = true;
		/* what is probed: the limits only say when */
		make_key(&p->key, p->engine, row, 5);
		engine_limits_set(&p->limits, p->engine, row[5], row[6]);
		{
			/* SPI's memory goes away at SPI_finish */
			MemoryContext spi = MemoryContextSwitchTo(caller);
			Jsonb	   *options = jb_parse(row[4], strlen(row[4]));
			EngineAccess access = {http_base_url(row[1]), row[2], row[3], options ? &options->root : NULL};

			p->driver->probe_request(&access, &p->request);
			MemoryContextSwitchTo(spi);
		}
		for (int c = 2; c <= 3; c++)
			if (row[c])
				explicit_bzero((char *) row[c], strlen(row[c]));
	}
	SPI_finish();
}

static void
judge(Probe *p)
{
	char	   *why = NULL;
	const char *status = p->driver->probe_judge(&p->response, &why);

	p->answer.latency_ms = p->response.elapsed_ms;
	set_answer(p, status, why);
}

/* Probes every engine that needs it, concurrently. */
static void
probe_engines(Probe *probes, int n)
{
	CURLM	   *multi;
	char	   *correlation = DatumGetCString(DirectFunctionCall1(uuid_out,
																  DirectFunctionCall1(gen_random_uuid, (Datum) 0)));

	http_global_init();
	multi = curl_multi_init();
	if (multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not create a libcurl multi handle")));
	PG_TRY();
	{
		int			running = 0;
		CURLMsg    *msg;
		int			left;
		TimestampTz deadline;

		/* one deadline for all: a probe still without a slot or an answer then is offline */
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), prov_http_timeout_ms);
		for (int i = 0; i < n; i++)
		{
			Probe	   *p = &probes[i];

			if (p->cached || p->request.url == NULL)
				continue;
			p->holds_slot = engine_slot_acquire(&p->limits, deadline);
			if (!p->holds_slot)
			{
				p->unsent = true;
				set_answer(p, "offline",
						   psprintf("no request slot within %d ms: the engine is at its max_concurrent_requests or requests_per_second, or asked for a pause",
									prov_http_timeout_ms));
				continue;
			}
			p->headers = http_headers(p->request.authorization, correlation, p->request.body != NULL);
			p->handle = http_handle_new(p->headers, &p->response);
			if (p->request.body)
				http_set_body(p->handle, p->request.body);
			if (curl_easy_setopt(p->handle, CURLOPT_URL, p->request.url) != CURLE_OK ||
				curl_multi_add_handle(multi, p->handle) != CURLM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("could not prepare the probe of engine %s", p->engine)));
		}
		do
		{
			CURLMcode	mc = curl_multi_perform(multi, &running);

			if (mc == CURLM_OK && running > 0)
				mc = curl_multi_poll(multi, NULL, 0, 100, NULL);
			if (mc != CURLM_OK)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("engine probes failed: %s", curl_multi_strerror(mc))));
			CHECK_FOR_INTERRUPTS();
		} while (running > 0 && GetCurrentTimestamp() < deadline);

		while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		{
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (int i = 0; i < n; i++)
				if (probes[i].handle == msg->easy_handle)
				{
					http_finish(probes[i].handle, msg->data.result, &probes[i].response);
					engine_outage_note(probes[i].engine, probes[i].response.outcome == HTTP_UNREACHABLE);
					if (http_throttled(&probes[i].response))
						engine_refused(&probes[i].limits, Max(probes[i].response.retry_after_s, 0) * 1000L);
					judge(&probes[i]);
				}
		}
	}
	PG_FINALLY();
	{
		for (int i = 0; i < n; i++)
		{
			if (probes[i].handle)
			{
				curl_multi_remove_handle(multi, probes[i].handle);
				curl_easy_cleanup(probes[i].handle);
			}
			if (probes[i].holds_slot)
				engine_slot_release(&probes[i].limits);
			if (probes[i].headers)
				http_headers_free(probes[i].headers);
			/* both may carry credentials */
			if (probes[i].request.authorization)
				explicit_bzero(probes[i].request.authorization, strlen(probes[i].request.authorization));
			if (probes[i].request.body)
				explicit_bzero(probes[i].request.body, strlen(probes[i].request.body));
			probes[i].handle = NULL;
			probes[i].headers = NULL;
			probes[i].holds_slot = false;
		}
		curl_multi_cleanup(multi);
	}
	PG_END_TRY();

	for (int i = 0; i < n; i++)
		if (probes[i].known && !probes[i].cached)
		{
			if (probes[i].answer.status[0] == '\0')
				set_answer(&probes[i], "offline",
						   psprintf("no answer within %d ms", prov_http_timeout_ms));
			probes[i].answer.checked_at = GetCurrentTimestamp();
		}
}

/*
 * Probes one engine now, whatever its cached answer: the launcher's probe of an engine
 * known to be unreachable (engine_outage.c). Its row is read in a short transaction and
 * the probe sent with none open; the answer is cached, and noted, like any probe's.
 */
void
engine_probe(const char *engine)
{
	MemoryContext mine = CurrentMemoryContext;
	Probe	   *p = palloc0(sizeof(Probe));

	p->engine = pstrdup(engine);
	p->answer.latency_ms = -1;
	worker_txn_begin("reading an engine to probe");
	MemoryContextSwitchTo(mine);
	load_engines(p, 1);
	worker_txn_commit();
	if (!p->known)
	{
		/* an engine removed or without a driver is not probed again: its outage ends */
		engine_outage_note(engine, false);
		return;
	}
	pgstat_report_activity(STATE_RUNNING, "probing an unreachable engine");
	probe_engines(p, 1);
	write_cache(p, 1);
}

/* provisioning._engine_health(engine_names text[]) returns jsonb: an object by engine. */
Datum
provisioning_engine_health(PG_FUNCTION_ARGS)
{
	ArrayType  *names = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	Probe	   *probes;
	JsonWriter	w;

	require_workers();
	deconstruct_array(names, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	probes = palloc0(sizeof(Probe) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		probes[i].engine = nulls[i] ? "" : TextDatumGetCString(elems[i]);
		probes[i].answer.latency_ms = -1;
	}

	load_engines(probes, n);
	read_cache(probes, n);
	probe_engines(probes, n);
	write_cache(probes, n);

	jw_open(&w, '{');
	for (int i = 0; i < n; i++)
	{
		HealthEntry *a = &probes[i].answer;
		JsonWriter	item;
		char		ts[MAXDATELEN + 1];

		jw_open(&item, '{');
		jw_str(&item, "status", a->status);
		if (a->latency_ms >= 0)
			jw_num(&item, "latency_ms", a->latency_ms);
		else
			jw_raw(&item, "latency_ms", "null");
		if (a->checked_at != 0)
			jw_str(&item, "checked_at",
					 JsonEncodeDateTime(ts, TimestampTzGetDatum(a->checked_at), TIMESTAMPTZOID, NULL));
		else
			jw_raw(&item, "checked_at", "null");
		jw_raw(&item, "cached", probes[i].cached ? "true" : "false");
		jw_str(&item, "error", a->error[0] ? a->error : NULL);
		jw_close(&item, '}');
		jw_raw(&w, probes[i].engine, item.buf.data);
	}
	jw_close(&w, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(w.buf.data)));
}
