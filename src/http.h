/*
 * http.h
 *     A small libcurl client for engine requests.
 */
#ifndef PROVISIONING_HTTP_H
#define PROVISIONING_HTTP_H

#include "postgres.h"

#include <curl/curl.h>

#include "lib/stringinfo.h"

/* How a request ended, as far as retrying is concerned. */
typedef enum HttpOutcome
{
	HTTP_OK,					/* 2xx */
	HTTP_NOT_FOUND,				/* 404 */
	HTTP_CONFLICT,				/* 409 */
	HTTP_UNAUTHORIZED,			/* 401, 403 */
	HTTP_REJECTED,				/* any other 4xx: the engine refused the request */
	HTTP_TRANSIENT,				/* 408, 429, 5xx, timeouts, resets: worth retrying */
	HTTP_UNREACHABLE			/* no connection could be made */
} HttpOutcome;

typedef struct HttpResponse
{
	HttpOutcome outcome;
	long		status;			/* 0 when no HTTP response arrived */
	StringInfoData body;
	int			retry_after_s;	/* Retry-After in seconds, or -1 */
	double		elapsed_ms;
	char		error[CURL_ERROR_SIZE]; /* libcurl's reason when no response arrived */
} HttpResponse;

/* One connection-reusing client per worker (or per health probe). */
typedef struct HttpClient
{
	CURL	   *curl;
	struct curl_slist *headers; /* Authorization, Accept, X-Correlation-ID */
	double		elapsed_ms;		/* time spent in requests: the run's engine time */
} HttpClient;

extern void http_global_init(void);
extern void http_client_init(HttpClient *client, const char *authorization,
							 const char *correlation_id);
extern void http_client_cleanup(HttpClient *client);
extern void http_request(HttpClient *client, const char *method, const char *url,
						 const char *json_body, HttpResponse *response);
extern char *http_escape(const char *text);

/* Used by the health probe, which drives several handles at once */
extern CURL *http_handle_new(struct curl_slist *headers, HttpResponse *response);
extern struct curl_slist *http_headers(const char *authorization, const char *correlation_id);
extern void http_finish(CURL *handle, CURLcode code, HttpResponse *response);

#endif							/* PROVISIONING_HTTP_H */
