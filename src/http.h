/*
 * http.h
 *     A small libcurl client for engine requests.
 */
#ifndef PROVISIONING_HTTP_H
#define PROVISIONING_HTTP_H

#include "postgres.h"

#include <curl/curl.h>

#include "lib/stringinfo.h"

#include "engine_limits.h"

/* How a request ended, as far as retrying is concerned. */
typedef enum HttpOutcome
{
	HTTP_OK,					/* 2xx */
	HTTP_NOT_FOUND,				/* 404 */
	HTTP_CONFLICT,				/* 409 */
	HTTP_UNAUTHORIZED,			/* 401, 403 */
	HTTP_REJECTED,				/* any other 4xx: the engine refused the request */
	HTTP_TRANSIENT,				/* 408, 429, 5xx, timeouts, resets: worth retrying (a 429
								 * only once the engine's pauses are spent: perform) */
	HTTP_UNREACHABLE			/* no connection could be made */
} HttpOutcome;

typedef struct HttpResponse
{
	HttpOutcome outcome;
	long		status;			/* 0 when no HTTP response arrived */
	StringInfoData body;
	int			retry_after_s;	/* Retry-After in seconds (capped), or -1 */
	bool		outcome_unknown;	/* sent, but no answer says whether it was applied */
	double		elapsed_ms;
	double		wait_ms;		/* from the request sent to the answer's first byte */
	char		error[CURL_ERROR_SIZE]; /* libcurl's reason when no response arrived */
} HttpResponse;

/* One connection-reusing client per worker (or per health probe). */
typedef struct HttpClient
{
	CURLM	   *multi;			/* drives curl, so that http_sent_hook runs mid-request */
	CURL	   *curl;
	struct curl_slist *headers; /* Accept, X-Correlation-ID, Authorization (if any) */
	struct curl_slist *body_headers;	/* the same and Content-Type, for JSON bodies */
	double		elapsed_ms;		/* time spent in requests: the run's engine time */
	int			requests;		/* requests sent */
	double		fastest_ms;		/* the quickest of their answers (wait_ms) */
	EngineLimits limits;		/* the engine's capacity, kept by every request (zeroed: none) */
} HttpClient;

/* Called in this process once each request went out, before its answer is read; or NULL */
extern void (*http_sent_hook) (void);
/* Called when this process's latch is set while a request is out (or a step waits, worker_sleep); or NULL */
extern void (*http_wait_hook) (void);

extern void http_global_init(void);
/* authorization: the Authorization header's value, or NULL for engines that take none */
extern void http_client_init(HttpClient *client, const char *authorization,
							 const char *correlation_id);
extern void http_client_cleanup(HttpClient *client);
extern void http_request(HttpClient *client, const char *method, const char *url,
						 const char *json_body, HttpResponse *response);
extern void http_post_read(HttpClient *client, const char *url, const char *json_body,
						   HttpResponse *response);
extern long http_backoff_ms(int attempt, int retry_after_s);
extern bool http_throttled(const HttpResponse *response);
extern char *http_escape(const char *text);
extern void http_copy_text(char *dst, const char *text, size_t size);
extern char *http_base_url(const char *url);

/* Used by the health probe, which drives several handles at once */
extern CURL *http_handle_new(struct curl_slist *headers, HttpResponse *response);
extern struct curl_slist *http_headers(const char *authorization, const char *correlation_id,
									   bool json_body);
extern void http_set_body(CURL *handle, const char *json_body);
extern void http_headers_free(struct curl_slist *headers);
extern void http_finish(CURL *handle, CURLcode code, HttpResponse *response);

#endif							/* PROVISIONING_HTTP_H */
