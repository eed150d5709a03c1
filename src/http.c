/*
 * http.c
 *     HTTP requests to engines over libcurl.
 *
 * Every request carries the same options: no signals (PostgreSQL owns SIGALRM), http and
 * https only, no redirects (they could carry the Authorization header elsewhere), clamped
 * timeouts, a body capped at provisioning.max_response_size, and a progress callback that
 * aborts the transfer when the process must stop. A client keeps one easy handle, so its
 * connection is reused.
 *
 * A client's requests keep to its engine's capacity (engine_limits.c): each waits for a
 * slot and holds it while it is out. An engine's own refusal to take a request now, a 429
 * or a 503 with Retry-After, pauses every process's requests to it for the time it asks
 * (at most provisioning.retry_after_max), and the request is sent again after that pause,
 * a write too: an engine (or the proxy in front of it) refuses so before it runs anything
 * (the drivers' references say so of both kinds). Those pauses are no failed attempt; a request
 * refused HTTP_MAX_PAUSES times in a row ends as a transient failure of its step.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"

#include "engine_outage.h"
#include "http.h"
#include "provisioning.h"

#define CURL_SETOPT(handle, option, value) \
	do { \
		CURLcode	rc_ = curl_easy_setopt((handle), (option), (value)); \
		if (rc_ != CURLE_OK) \
			ereport(ERROR, \
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION), \
					 errmsg("could not set libcurl option %s", #option), \
					 errdetail("%s", curl_easy_strerror(rc_)))); \
	} while (0)

/* Refusals of one request (429, 503 with Retry-After) met by pauses before it fails */
#define HTTP_MAX_PAUSES 10

void		(*http_sent_hook) (void) = NULL;
void		(*http_wait_hook) (void) = NULL;

static bool curl_initialized = false;

void
http_global_init(void)
{
	CURLcode	rc;

	if (curl_initialized)
		return;
	rc = curl_global_init(CURL_GLOBAL_ALL);
	if (rc != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not initialize libcurl"),
				 errdetail("%s", curl_easy_strerror(rc))));
	curl_initialized = true;
}

static curl_off_t
max_body(void)
{
	return (curl_off_t) prov_max_response_size * 1024;
}

static size_t
collect_body(char *data, size_t size, size_t nmemb, void *arg)
{
	HttpResponse *response = (HttpResponse *) arg;
	size_t		n = size * nmemb;

	if ((curl_off_t) response->body.len + (curl_off_t) n > max_body())
		return 0;				/* makes libcurl fail with CURLE_WRITE_ERROR */
	appendBinaryStringInfo(&response->body, data, (int) n);
	return n;
}

/* Aborts the transfer when the process is asked to stop or the postmaster died. */
static int
check_interrupts(void *arg, curl_off_t dltotal, curl_off_t dlnow,
				 curl_off_t ultotal, curl_off_t ulnow)
{
	if (ProcDiePending || QueryCancelPending || !PostmasterIsAlive())
		return 1;
	return 0;
}

static void
set_common_options(CURL *handle, struct curl_slist *headers, HttpResponse *response)
{
	CURL_SETOPT(handle, CURLOPT_NOSIGNAL, 1L);
	CURL_SETOPT(handle, CURLOPT_PROTOCOLS_STR, "http,https");
	CURL_SETOPT(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	CURL_SETOPT(handle, CURLOPT_FOLLOWLOCATION, 0L);
	/* a document named "." or ".." is a path segment, not a step up */
	CURL_SETOPT(handle, CURLOPT_PATH_AS_IS, 1L);
	CURL_SETOPT(handle, CURLOPT_CONNECTTIMEOUT_MS, (long) Max(prov_http_connect_timeout_ms, 1));
	CURL_SETOPT(handle, CURLOPT_TIMEOUT_MS, (long) Max(prov_http_timeout_ms, 1));
	CURL_SETOPT(handle, CURLOPT_USERAGENT, "provisioning/1.3");
	CURL_SETOPT(handle, CURLOPT_HTTPHEADER, headers);
	CURL_SETOPT(handle, CURLOPT_WRITEFUNCTION, collect_body);
	CURL_SETOPT(handle, CURLOPT_WRITEDATA, response);
	/* an answer announced larger is refused before it is read */
	CURL_SETOPT(handle, CURLOPT_MAXFILESIZE_LARGE, max_body());
	CURL_SETOPT(handle, CURLOPT_ERRORBUFFER, response->error);
	CURL_SETOPT(handle, CURLOPT_NOPROGRESS, 0L);
	CURL_SETOPT(handle, CURLOPT_XFERINFOFUNCTION, check_interrupts);
	CURL_SETOPT(handle, CURLOPT_PRIVATE, response);
}

static void
response_reset(HttpResponse *response)
{
	if (response->body.data == NULL)
		initStringInfo(&response->body);
	else
		resetStringInfo(&response->body);
	response->outcome = HTTP_TRANSIENT;
	response->status = 0;
	response->retry_after_s = -1;
	response->outcome_unknown = false;
	response->elapsed_ms = 0;
	response->wait_ms = 0;
	response->error[0] = '\0';
}

/*
 * The request headers: Authorization when the engine takes one (built at its full length,
 * the credentials' length is bounded where they are stored, and wiped once libcurl holds
 * its copy), and Content-Type for requests with a JSON body.
 */
struct curl_slist *
http_headers(const char *authorization, const char *correlation_id, bool json_body)
{
	struct curl_slist *list = NULL;
	char	   *auth_line = authorization ? psprintf("Authorization: %s", authorization) : NULL;
	char	   *corr_line = psprintf("X-Correlation-ID: %s", correlation_id);
	const char *lines[] = {
		"Accept: application/json",
		"Expect:",				/* no 100-continue round trip */
		corr_line,
		json_body ? "Content-Type: application/json" : NULL,
		auth_line,
	};

	for (int i = 0; i < lengthof(lines); i++)
	{
		struct curl_slist *next;

		if (lines[i] == NULL)
			continue;
		next = curl_slist_append(list, lines[i]);

		if (next == NULL)
		{
			http_headers_free(list);
			list = NULL;
			break;
		}
		list = next;
	}
	if (auth_line)
	{
		explicit_bzero(auth_line, strlen(auth_line));
		pfree(auth_line);
	}
	pfree(corr_line);
	if (list == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return list;
}

/* Frees a header list, wiping every line first: one of them carries the credentials. */
void
http_headers_free(struct curl_slist *headers)
{
	for (struct curl_slist *h = headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(headers);
}

/* A JSON body to POST; the handle's headers must carry its Content-Type. */
void
http_set_body(CURL *handle, const char *json_body)
{
	CURL_SETOPT(handle, CURLOPT_POSTFIELDSIZE, (long) strlen(json_body));
	CURL_SETOPT(handle, CURLOPT_POSTFIELDS, json_body);
}

CURL *
http_handle_new(struct curl_slist *headers, HttpResponse *response)
{
	CURL	   *handle;

	http_global_init();
	handle = curl_easy_init();
	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not create a libcurl handle")));
	response_reset(response);
	set_common_options(handle, headers, response);
	return handle;
}

void
http_client_init(HttpClient *client, const char *authorization, const char *correlation_id)
{
	http_global_init();
	client->headers = http_headers(authorization, correlation_id, false);
	client->body_headers = http_headers(authorization, correlation_id, true);
	client->elapsed_ms = 0;
	client->requests = 0;
	client->fastest_ms = 0;
	client->curl = curl_easy_init();
	client->multi = curl_multi_init();
	if (client->curl == NULL || client->multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("could not create a libcurl handle")));
}

void
http_client_cleanup(HttpClient *client)
{
	if (client->curl)
		curl_easy_cleanup(client->curl);
	if (client->multi)
		curl_multi_cleanup(client->multi);
	if (client->headers)
		http_headers_free(client->headers);
	if (client->body_headers)
		http_headers_free(client->body_headers);
	client->curl = NULL;
	client->multi = NULL;
	client->headers = NULL;
	client->body_headers = NULL;
}

/* Exponential backoff with jitter; at least the engine's Retry-After. */
long
http_backoff_ms(int attempt, int retry_after_s)
{
	double		base = Min(prov_http_retry_delay_ms * pow(2.0, attempt - 1), 60000.0);
	double		delay = base * (0.5 + 0.5 * pg_prng_double(&pg_global_prng_state));

	if (retry_after_s >= 0)
		delay = Max(delay, retry_after_s * 1000.0);
	return (long) delay;
}

/* Runs http_sent_hook; how long it took (ms) */
static double
sent_hook_timed(void)
{
	instr_time	start;
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(start);
	http_sent_hook();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	return INSTR_TIME_GET_MILLISEC(duration);
}

/*
 * Waits for what libcurl waits for (its sockets, its next timeout) or this process's latch,
 * whichever comes first: the latch runs http_wait_hook, so a run worker records its step
 * workers' reports while its own request is out. A socket libcurl cannot put in an fd_set
 * (FD_SETSIZE) is left to the timeout, as curl_multi_poll would not do either.
 */
static CURLMcode
wait_for_curl(CURLM *multi)
{
	fd_set		readable;
	fd_set		writable;
	fd_set		failed;
	int			max_fd = -1;
	long		timeout_ms = -1;
	CURLMcode	mc;
	WaitEventSet *set;
	WaitEvent	event;

	FD_ZERO(&readable);
	FD_ZERO(&writable);
	FD_ZERO(&failed);
	mc = curl_multi_fdset(multi, &readable, &writable, &failed, &max_fd);
	if (mc == CURLM_OK)
		mc = curl_multi_timeout(multi, &timeout_ms);
	if (mc != CURLM_OK)
		return mc;
	/* no socket yet (a name being resolved): libcurl's advice is to look again soon */
	if (timeout_ms < 0 || timeout_ms > 1000)
		timeout_ms = max_fd < 0 ? 100 : 1000;

	set = CreateWaitEventSet(CurrentMemoryContext, max_fd + 3);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (int fd = 0; fd <= max_fd; fd++)
	{
		uint32		events = (FD_ISSET(fd, &readable) || FD_ISSET(fd, &failed) ? WL_SOCKET_READABLE : 0) |
			(FD_ISSET(fd, &writable) ? WL_SOCKET_WRITEABLE : 0);

		if (events != 0)
			AddWaitEventToSet(set, events, fd, NULL, NULL);
	}
	if (WaitEventSetWait(set, timeout_ms, &event, 1, PG_WAIT_EXTENSION) == 1 &&
		(event.events & WL_LATCH_SET))
	{
		ResetLatch(MyLatch);
		if (http_wait_hook != NULL)
			http_wait_hook();
	}
	FreeWaitEventSet(set);
	return CURLM_OK;
}

/*
 * curl_easy_perform, driven step by step to call http_sent_hook as soon as the request
 * went out (libcurl counts its bytes; a request that ended first counts too). The multi
 * handle keeps the connection cache between requests, as the easy handle would.
 */
static CURLcode
transfer(HttpClient *client, CURL *handle, double *hook_ms)
{
	CURLMcode	mc;
	CURLMsg    *msg;
	CURLcode	code = CURLE_FAILED_INIT;
	int			running = 1;
	int			left;
	bool		sent = http_sent_hook == NULL;

	*hook_ms = 0;
	mc = curl_multi_add_handle(client->multi, handle);
	while (mc == CURLM_OK && running)
	{
		mc = curl_multi_perform(client->multi, &running);
		if (!sent && mc == CURLM_OK)
		{
			long		size = 0;

			if (!running || (curl_easy_getinfo(handle, CURLINFO_REQUEST_SIZE, &size) == CURLE_OK && size > 0))
			{
				*hook_ms = sent_hook_timed();
				sent = true;
			}
		}
		if (mc == CURLM_OK && running)
			mc = wait_for_curl(client->multi);
	}
	while ((msg = curl_multi_info_read(client->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == handle)
			code = msg->data.result;
	(void) curl_multi_remove_handle(client->multi, handle);
	if (!sent)
		sent_hook_timed();
	if (mc != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("libcurl could not drive a request: %s", curl_multi_strerror(mc))));
	return code;
}

/* transfer, holding one of the engine's request slots while the request is out */
static CURLcode
transfer_in_slot(HttpClient *client, CURL *handle, double *hook_ms)
{
	volatile CURLcode code = CURLE_FAILED_INIT;

	engine_slot_acquire(&client->limits, 0);
	PG_TRY();
	{
		code = transfer(client, handle, hook_ms);
	}
	PG_FINALLY();
	{
		engine_slot_release(&client->limits);
	}
	PG_END_TRY();
	return code;
}

static void
perform(HttpClient *client, const char *method, const char *url, const char *json_body,
		bool may_reuse, HttpResponse *response)
{
	CURL	   *handle = client->curl;
	CURLcode	code;
	double		hook_ms;

	curl_easy_reset(handle);	/* keeps the connection cache */
	set_common_options(handle, json_body ? client->body_headers : client->headers, response);
	CURL_SETOPT(handle, CURLOPT_URL, url);
	if (json_body != NULL)
		http_set_body(handle, json_body);
	if (strcmp(method, "GET") == 0)
		CURL_SETOPT(handle, CURLOPT_HTTPGET, 1L);
	else if (strcmp(method, "POST") != 0 || json_body == NULL)
		CURL_SETOPT(handle, CURLOPT_CUSTOMREQUEST, method);

	/*
	 * libcurl silently sends a request again when a reused connection closes without an
	 * answer, which is exactly what a response lost after the engine committed looks like.
	 * Writes get a connection of their own so that never happens; the step's
	 * read-before-write decides what to do instead.
	 */
	if (!may_reuse)
		CURL_SETOPT(handle, CURLOPT_FRESH_CONNECT, 1L);

	for (int refusals = 1;; refusals++)
	{
		long		pause_ms;

		response_reset(response);
		code = transfer_in_slot(client, handle, &hook_ms);
		http_finish(handle, code, response);
		engine_outage_note(client->limits.engine, response->outcome == HTTP_UNREACHABLE);

		/*
		 * The hook's WAL flush ran while the engine answered: on a busy disk it would make a
		 * fast engine look slow (and its steps run at once), and count as the engine's time.
		 */
		response->elapsed_ms = Max(response->elapsed_ms - hook_ms, 0);
		response->wait_ms = Max(response->wait_ms - hook_ms, 0);
		client->elapsed_ms += response->elapsed_ms;
		if (client->requests++ == 0 || response->wait_ms < client->fastest_ms)
			client->fastest_ms = response->wait_ms;

		if (!http_throttled(response))
			break;
		/* every process waits what the engine asked; this one a little more, so they spread */
		pause_ms = Max(response->retry_after_s, 0) * 1000L;
		engine_refused(&client->limits, pause_ms);
		if (refusals >= HTTP_MAX_PAUSES)
			break;
		worker_sleep(pause_ms + http_backoff_ms(refusals, -1));
	}
}

/* A request; anything but a GET may write, so it gets a fresh connection. */
void
http_request(HttpClient *client, const char *method, const char *url,
			 const char *json_body, HttpResponse *response)
{
	perform(client, method, url, json_body, strcmp(method, "GET") == 0, response);
}

/*
 * A POST the caller knows only reads (JSON-RPC sends reads as POST too): sending it
 * twice is harmless, so it may go over a reused connection.
 */
void
http_post_read(HttpClient *client, const char *url, const char *json_body, HttpResponse *response)
{
	perform(client, "POST", url, json_body, true, response);
}

/* An engine's base URL without its trailing slashes: paths are appended to it. */
char *
http_base_url(const char *url)
{
	char	   *copy = pstrdup(url ? url : "");
	int			len = strlen(copy);

	while (len > 0 && copy[len - 1] == '/')
		copy[--len] = '\0';
	return copy;
}

char *
http_escape(const char *text)
{
	char	   *escaped = curl_easy_escape(NULL, text, 0);
	char	   *result;

	if (escaped == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	result = pstrdup(escaped);
	curl_free(escaped);
	return result;
}
