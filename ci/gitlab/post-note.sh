#!/usr/bin/env bash
# Posts $BODY as the merge request's llmsweep note through the GitLab API, or
# updates the one already there: it is found by the hidden marker on its
# first line (internal/prcomment.Marker). Needs LLMSWEEP_NOTE_TOKEN (a token
# with the api scope) and GitLab's predefined CI_API_V4_URL, CI_PROJECT_ID and
# CI_MERGE_REQUEST_IID; uses curl, and jq (installed with apt-get if missing).
set -euo pipefail
: "${BODY:?set BODY to the note file}" "${LLMSWEEP_NOTE_TOKEN:?set LLMSWEEP_NOTE_TOKEN}"
: "${CI_API_V4_URL:?}" "${CI_PROJECT_ID:?}" "${CI_MERGE_REQUEST_IID:?}"
if ! command -v jq >/dev/null; then
	apt-get update -qq >/dev/null && apt-get install -y -qq jq >/dev/null
fi
marker='<!-- llmsweep:ci -->'
api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
auth="PRIVATE-TOKEN: $LLMSWEEP_NOTE_TOKEN"
id=""
page=1
while [ -z "$id" ] && [ -n "$page" ]; do
	headers=$(mktemp)
	notes=$(curl -fsS -D "$headers" -H "$auth" "$api?per_page=100&sort=asc&page=$page")
	id=$(jq -r --arg m "$marker" '[.[] | select(.body | startswith($m))][0].id // empty' <<<"$notes")
	page=$(sed -n 's/^x-next-page: *\([0-9]*\).*/\1/ip' "$headers")
	rm -f "$headers"
done
if [ -n "$id" ]; then
	curl -fsS -X PUT -H "$auth" --data-urlencode "body@$BODY" "$api/$id" >/dev/null
	echo "updated note $id on !$CI_MERGE_REQUEST_IID"
else
	curl -fsS -X POST -H "$auth" --data-urlencode "body@$BODY" "$api" >/dev/null
	echo "posted a note on !$CI_MERGE_REQUEST_IID"
fi
