#!/usr/bin/env bash
# Posts $BODY as the pull request's llmsweep comment with gh api, or updates
# the one already there: it is found by the hidden marker on its first line
# (internal/prcomment.Marker). Needs GH_TOKEN, REPO (owner/name), PR and BODY.
set -euo pipefail
: "${REPO:?set REPO to owner/name}" "${PR:?set PR to the pull request number}" "${BODY:?set BODY to the comment file}"
marker='<!-- llmsweep:ci -->'
id=$(gh api --paginate "repos/$REPO/issues/$PR/comments" \
	--jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$id" ]; then
	gh api --method PATCH "repos/$REPO/issues/comments/$id" -F "body=@$BODY" >/dev/null
	echo "updated comment $id on $REPO#$PR"
else
	gh api --method POST "repos/$REPO/issues/$PR/comments" -F "body=@$BODY" >/dev/null
	echo "posted a comment on $REPO#$PR"
fi
