#!/usr/bin/env bash
# The checks that CI runs on a pull (or merge) request, for any CI system:
# vet, compile (generated/ must be committed and current), diff against the
# base revision, plan of the changed campaigns and, optionally, diff --live.
# It writes the comment body to $LLMSWEEP_OUT/comment.md; posting it is the
# job of ci/github/post-comment.sh or ci/gitlab/post-note.sh.
#
# Environment (all optional but LLMSWEEP_BASE):
#   LLMSWEEP_BASE               the base revision (origin/main); the diff is against its merge base with HEAD
#   LLMSWEEP                    the llmsweep binary (default: llmsweep on PATH)
#   LLMSWEEP_PATHS              the campaign paths, space-separated (default: campaigns/)
#   LLMSWEEP_LIVE               true: also diff --live against the cluster (needs KUBECONFIG)
#   LLMSWEEP_ALLOW_OVER_BUDGET  true: an over-budget plan does not fail (a PR label says so)
#   LLMSWEEP_OUT                where the step outputs and comment.md go (default: .llmsweep/ci)
#
# Exit codes: 0 the checks passed (changes or not); 1 a changed campaign is
# over budget and nothing allows it; 2 a step failed: vet found problems,
# generated/ is stale, or diff, plan or diff --live could not run.
set -u

bin=${LLMSWEEP:-llmsweep}
base=${LLMSWEEP_BASE:?set LLMSWEEP_BASE to the base revision, such as origin/main}
out=${LLMSWEEP_OUT:-.llmsweep/ci}
read -r -a paths <<<"${LLMSWEEP_PATHS:-campaigns/}"
mkdir -p "$out"

steps=()
failed=0
# step NAME CODE FILE records a step for the comment; codes of 2 and more
# (and any non-zero code of vet and compile) fail the run.
step() {
	steps+=(--step "$1=$2:$3")
	case $1:$2 in
	vet:0 | compile:0) ;;
	vet:* | compile:*) failed=1 ;;
	*) [ "$2" -lt 2 ] || failed=1 ;;
	esac
}
skip() { steps+=(--step "$1=skip"); }

# vet: the campaigns, with the repository's catalog when it has one.
vet_paths=("${paths[@]}")
[ -d catalog ] && vet_paths+=(catalog/)
"$bin" vet -q "${vet_paths[@]}" >"$out/vet.log" 2>&1
vet=$?
step vet "$vet" "$out/vet.log"

# The other steps need campaigns that load. A stale generated/ does not stop
# the diff and plan, which compile the campaigns themselves.
# compile: generated/ must be what compile writes, with nothing left out. The
# budget is the plan step's gate (with its label), so compile does not refuse.
if [ "$vet" = 0 ]; then
	code=0
	"$bin" compile --allow-over-budget "${paths[@]}" >"$out/compile.log" 2>&1 || code=$?
	if [ "$code" = 0 ] && [ -n "$(git status --porcelain -- generated/)" ]; then
		{
			echo "generated/ is not what compile writes: run llmsweep compile (make generate) and commit the result"
			git status --short -- generated/
		} >>"$out/compile.log"
		code=1
	fi
	step compile "$code" "$out/compile.log"
else
	skip compile
fi

# diff against the merge base, so that later commits on the base branch do
# not show up reversed.
diff_args=()
if [ "$vet" = 0 ]; then
	if mb=$(git merge-base HEAD "$base" 2>"$out/diff.log"); then
		"$bin" diff --against "git:$mb" -o json "${paths[@]}" >"$out/diff.json" 2>"$out/diff.log"
		code=$?
	else
		code=2
	fi
	step diff "$code" "$out/diff.log"
	[ "$code" -lt 2 ] && diff_args=(--diff "$out/diff.json")
else
	skip diff
fi

# plan the changed campaigns that still exist; exit code 1 is a budget overrun.
over=0
plan_args=()
changed=""
if [ ${#diff_args[@]} -gt 0 ]; then
	if ! changed=$("$bin" ci changed "$out/diff.json" 2>"$out/changed.log"); then
		step changed 2 "$out/changed.log"
	fi
fi
if [ -n "$changed" ]; then
	"$bin" plan -o json --campaign "$changed" "${paths[@]}" >"$out/plan.json" 2>"$out/plan.log"
	code=$?
	step plan "$code" "$out/plan.log"
	[ "$code" = 1 ] && over=1
	[ "$code" -lt 2 ] && plan_args=(--plan "$out/plan.json")
else
	skip plan
fi

live_args=()
if [ "${LLMSWEEP_LIVE:-false}" = true ] && [ "$vet" = 0 ]; then
	"$bin" diff --live "${paths[@]}" >"$out/live.txt" 2>"$out/live.log"
	code=$?
	step live "$code" "$out/live.log"
	[ "$code" -lt 2 ] && live_args=(--live "$out/live.txt")
else
	skip live
fi

allowed=()
[ "${LLMSWEEP_ALLOW_OVER_BUDGET:-false}" = true ] && allowed=(--budget-allowed)
if ! "$bin" ci comment --base "$base" "${steps[@]}" "${diff_args[@]}" "${plan_args[@]}" "${live_args[@]}" "${allowed[@]}" >"$out/comment.md"; then
	echo "run.sh: could not write the comment" >&2
	exit 2
fi

if [ "$failed" != 0 ]; then
	echo "llmsweep: a step failed; see $out/comment.md" >&2
	exit 2
fi
if [ "$over" = 1 ] && [ ${#allowed[@]} = 0 ]; then
	echo "llmsweep: a changed campaign is over budget; a label can allow it" >&2
	exit 1
fi
exit 0
