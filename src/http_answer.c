/*
 * http_answer.c
 *     What an engine answered, as every request and health probe reads it: the outcome of
 *     its status or of libcurl's error, its timing and Retry-After, whether it was refused
 *     for now (throttled), and its text made valid in the database's encoding before anyone
 *     reads it.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/pmsignal.h"

#include "http.h"
#include "provisioning.h"

/*
 * The engine refused the request for now, before running it: its rate limiter's 429, or
 * a 503 that says when to come back (maintenance, a proxy's limit). A 503 without
 * Retry-After may come from an engine that failed midway: a transient failure.
 */
bool
http_throttled(const HttpResponse *response)
{
	return response->status == 429 || (response->status == 503 && response->retry_after_s >= 0);
}

static HttpOutcome
classify_status(long status)
{
	if (status >= 200 && status < 300)
		return HTTP_OK;
	if (status == 404)
		return HTTP_NOT_FOUND;
	if (status == 409)
		return HTTP_CONFLICT;
	if (status == 401 || status == 403)
		return HTTP_UNAUTHORIZED;
	if (status == 408 || status == 429 || status >= 500)
		return HTTP_TRANSIENT;
	return HTTP_REJECTED;
}

/*
 * Makes engine bytes valid text of the database's encoding. PostgreSQL 15's jsonb parser and
 * CStringGetTextDatum do not check encoding: a Latin-1 byte in an engine's message would be
 * stored as it came, and then no client encoding could read its row nor a restore load it.
 * Each byte that does not begin a valid character becomes U+FFFD in a UTF-8 database, '?' in
 * any other; so does a NUL, which would silently end the text there. One byte at a time:
 * a valid character is never taken into a replacement. Valid text is left as it is.
 */
static void
make_valid(StringInfo text)
{
	int			encoding = GetDatabaseEncoding();
	const char *replacement = encoding == PG_UTF8 ? "\xEF\xBF\xBD" : "?";
	int			len = text->len;
	int			pos = pg_encoding_verifymbstr(encoding, text->data, len);
	StringInfoData out;

	if (pos == len)
		return;
	initStringInfo(&out);
	appendBinaryStringInfo(&out, text->data, pos);
	while (pos < len)
	{
		int			valid;

		appendStringInfoString(&out, replacement);
		pos++;
		valid = pg_encoding_verifymbstr(encoding, text->data + pos, len - pos);
		appendBinaryStringInfo(&out, text->data + pos, valid);
		pos += valid;
	}
	resetStringInfo(text);
	appendBinaryStringInfo(text, out.data, out.len);
	pfree(out.data);
}

/* Copies text into dst of size bytes; what does not fit is cut between characters. */
void
http_copy_text(char *dst, const char *text, size_t size)
{
	int			len = pg_mbcliplen(text, strlen(text), size - 1);

	memcpy(dst, text, len);
	dst[len] = '\0';
}

/* libcurl's reason may quote what the server sent: it is made valid too. */
static void
make_error_valid(HttpResponse *response)
{
	StringInfoData text;

	initStringInfo(&text);
	appendStringInfoString(&text, response->error);
	make_valid(&text);
	http_copy_text(response->error, text.data, sizeof(response->error));
	pfree(text.data);
}

/*
 * Fills in status, outcome, timing and Retry-After once a transfer ended, and makes the
 * body valid text (make_valid) before anyone reads it: every engine answer comes here.
 */
void
http_finish(CURL *handle, CURLcode code, HttpResponse *response)
{
	double		total = 0;
	double		connect = 0;
	double		pretransfer = 0;
	double		starttransfer = 0;
	long		sent = 0;
	struct curl_header *header;

	make_valid(&response->body);
	curl_easy_getinfo(handle, CURLINFO_TOTAL_TIME, &total);
	curl_easy_getinfo(handle, CURLINFO_CONNECT_TIME, &connect);
	curl_easy_getinfo(handle, CURLINFO_REQUEST_SIZE, &sent);
	curl_easy_getinfo(handle, CURLINFO_PRETRANSFER_TIME, &pretransfer);
	curl_easy_getinfo(handle, CURLINFO_STARTTRANSFER_TIME, &starttransfer);
	response->elapsed_ms = total * 1000.0;
	response->wait_ms = starttransfer > pretransfer ? (starttransfer - pretransfer) * 1000.0 : 0;

	if (code == CURLE_OK)
	{
		curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response->status);
		response->outcome = classify_status(response->status);
		if (curl_easy_header(handle, "Retry-After", 0, CURLH_HEADER, -1, &header) == CURLHE_OK)
		{
			char	   *end;
			long		seconds = strtol(header->value, &end, 10);

			if (end != header->value && seconds >= 0)
				response->retry_after_s = (int) Min(seconds, prov_retry_after_max_s);
		}
		/* a gateway's 502/504 says nothing of what the engine behind it did */
		response->outcome_unknown = (response->status == 502 || response->status == 504);
		return;
	}

	/* once sent, the request may have reached the engine whatever went wrong after */
	response->outcome_unknown = sent > 0;

	if (response->error[0] == '\0')
		strlcpy(response->error, curl_easy_strerror(code), sizeof(response->error));
	else
		make_error_valid(response);

	switch (code)
	{
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			response->outcome = HTTP_UNREACHABLE;
			break;
		case CURLE_OPERATION_TIMEDOUT:
			response->outcome = connect > 0 ? HTTP_TRANSIENT : HTTP_UNREACHABLE;
			break;
		case CURLE_WRITE_ERROR:
		case CURLE_FILESIZE_EXCEEDED:
			/* a failed attempt; sent, so to a create it counts as unanswered */
			snprintf(response->error, sizeof(response->error),
					 "the engine's answer is larger than provisioning.max_response_size (%d kB)",
					 prov_max_response_size);
			response->outcome = HTTP_TRANSIENT;
			break;
		case CURLE_ABORTED_BY_CALLBACK:
			if (!PostmasterIsAlive())
				proc_exit(1);
			CHECK_FOR_INTERRUPTS();
			response->outcome = HTTP_TRANSIENT;
			break;
		default:
			response->outcome = HTTP_TRANSIENT;
			break;
	}
}
