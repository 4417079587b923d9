"""GitHub's response objects, complete as the schema requires them, from the stand-in's small records."""

from __future__ import annotations

from typing import Any

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}


def user(base: str) -> dict[str, Any]:
    login, url = BOT["login"], f"{base}/users/github-actions%5Bbot%5D"
    user = {
        "login": login,
        "id": BOT["id"],
        "node_id": "MDM6Qm90NDE4OTgyODI=",
        "avatar_url": "",
        "gravatar_id": "",
        "url": url,
        "html_url": "https://github.com/apps/github-actions",
        "type": BOT["type"],
        "site_admin": False,
    }
    for key in (
        "followers",
        "following",
        "gists",
        "starred",
        "subscriptions",
        "organizations",
        "repos",
        "events",
        "received_events",
    ):
        user[f"{key}_url"] = f"{url}/{key}"
    return user


def repository(base: str, repo: str) -> dict[str, Any]:
    url = f"{base}/repos/{repo}"
    data = {
        "id": 1,
        "node_id": "R_1",
        "name": repo.split("/")[1],
        "full_name": repo,
        "owner": user(base),
        "private": False,
        "html_url": f"https://github.com/{repo}",
        "description": None,
        "fork": False,
        "url": url,
    }
    for key in (
        "archive",
        "assignees",
        "blobs",
        "branches",
        "collaborators",
        "comments",
        "commits",
        "compare",
        "contents",
        "contributors",
        "deployments",
        "downloads",
        "events",
        "forks",
        "git_commits",
        "git_refs",
        "git_tags",
        "issue_comment",
        "issue_events",
        "issues",
        "keys",
        "labels",
        "languages",
        "merges",
        "milestones",
        "notifications",
        "pulls",
        "releases",
        "stargazers",
        "statuses",
        "subscribers",
        "subscription",
        "tags",
        "teams",
        "trees",
        "hooks",
    ):
        data[f"{key}_url"] = f"{url}/{key}"
    return data


def comment(base: str, c: dict[str, Any]) -> dict[str, Any]:
    repo = c["repo"]
    return {
        "id": c["id"],
        "node_id": f"IC_{c['id']}",
        "url": f"{base}/repos/{repo}/issues/comments/{c['id']}",
        "html_url": f"https://github.com/{repo}/pull/{c['issue_number']}#issuecomment-{c['id']}",
        "body": c["body"],
        "user": user(base),
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
        "issue_url": f"{base}/repos/{repo}/issues/{c['issue_number']}",
        "author_association": "NONE",
    }


def deployment(base: str, d: dict[str, Any]) -> dict[str, Any]:
    url = f"{base}/repos/{d['repo']}/deployments/{d['id']}"
    return {
        "url": url,
        "id": d["id"],
        "node_id": f"DE_{d['id']}",
        "sha": d["sha"],
        "ref": d["ref"],
        "task": d["task"],
        "payload": d["payload"],
        "original_environment": d["environment"],
        "environment": d["environment"],
        "description": d["description"],
        "creator": user(base),
        "created_at": d["created_at"],
        "updated_at": d["updated_at"],
        "statuses_url": f"{url}/statuses",
        "repository_url": f"{base}/repos/{d['repo']}",
        "transient_environment": d["transient_environment"],
        "production_environment": d["production_environment"],
    }


def status(base: str, d: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    deployment_url = f"{base}/repos/{d['repo']}/deployments/{d['id']}"
    return {
        "url": f"{deployment_url}/statuses/{s['id']}",
        "id": s["id"],
        "node_id": f"DES_{s['id']}",
        "state": s["state"],
        "creator": user(base),
        "description": s.get("description") or "",
        "environment": s["environment"],
        "target_url": s.get("target_url") or s.get("log_url") or "",
        "created_at": s["created_at"],
        "updated_at": s["created_at"],
        "deployment_url": deployment_url,
        "repository_url": f"{base}/repos/{d['repo']}",
        "environment_url": s.get("environment_url") or "",
        "log_url": s.get("log_url") or s.get("target_url") or "",
    }


def check_run(base: str, r: dict[str, Any]) -> dict[str, Any]:
    url = f"{base}/repos/{r['repo']}/check-runs/{r['id']}"
    output = {
        "title": None,
        "summary": None,
        "text": None,
        **r["output"],
        "annotations_count": len(r["annotations"]),
        "annotations_url": f"{url}/annotations",
    }
    return {
        "id": r["id"],
        "head_sha": r["head_sha"],
        "node_id": f"CR_{r['id']}",
        "external_id": r["external_id"],
        "url": url,
        "html_url": f"https://github.com/{r['repo']}/runs/{r['id']}",
        "details_url": r["details_url"],
        "status": r["status"],
        "conclusion": r["conclusion"],
        "started_at": r["started_at"],
        "completed_at": r["completed_at"],
        "output": output,
        "name": r["name"],
        "check_suite": {"id": 1},
        "app": None,
        "pull_requests": [],
    }


def annotation(base: str, r: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": a["path"],
        "start_line": a["start_line"],
        "end_line": a["end_line"],
        "start_column": a.get("start_column"),
        "end_column": a.get("end_column"),
        "annotation_level": a["annotation_level"],
        "title": a.get("title"),
        "message": a["message"],
        "raw_details": a.get("raw_details"),
        "blob_href": f"https://github.com/{r['repo']}/blob/{r['head_sha']}/{a['path']}",
    }


def workflow_run(base: str, r: dict[str, Any]) -> dict[str, Any]:
    repo_url, url = f"{base}/repos/{r['repo']}", f"{base}/repos/{r['repo']}/actions/runs/{r['id']}"
    data = {
        "id": r["id"],
        "name": r["workflow"],
        "node_id": f"WFR_{r['id']}",
        "head_branch": r["head_branch"],
        "head_sha": r["head_sha"],
        "path": f".github/workflows/{r['workflow']}",
        "run_number": r["run_number"],
        "run_attempt": r.get("run_attempt", 1),  # above 1: re-run (a run that passed so was flaky)
        "event": r["event"],
        "status": r["status"],
        "conclusion": r["conclusion"],
        "workflow_id": r["workflow_id"],
        "url": url,
        "html_url": f"https://github.com/{r['repo']}/actions/runs/{r['id']}",
        "pull_requests": [],
        "created_at": r["created_at"],
        "updated_at": r["created_at"],
        "head_commit": None,
        "workflow_url": f"{repo_url}/actions/workflows/{r['workflow_id']}",
        "repository": repository(base, r["repo"]),
        "head_repository": repository(base, r["repo"]),
        "display_title": r["workflow"],
    }
    for key in ("jobs", "logs", "artifacts", "cancel", "rerun"):
        data[f"{key}_url"] = f"{url}/{key}"
    data["check_suite_url"] = f"{repo_url}/check-suites/1"
    return data


def reviewer(base: str, item: dict[str, Any]) -> dict[str, Any]:
    """A required reviewer as GitHub lists it: the user or team object under `reviewer`."""
    if item["type"] == "User":
        who = {**user(base), "login": f"user{item['id']}", "id": item["id"], "type": "User"}
        return {"type": "User", "reviewer": who}
    team = {
        "id": item["id"], "node_id": f"T_{item['id']}", "url": f"{base}/teams/{item['id']}",
        "html_url": f"https://github.com/orgs/acme/teams/team{item['id']}", "name": f"team{item['id']}",
        "slug": f"team{item['id']}", "description": None, "privacy": "closed",
        "notification_setting": "notifications_enabled", "permission": "pull",
        "type": "organization", "members_url": f"{base}/teams/{item['id']}/members{{/member}}",
        "repositories_url": f"{base}/teams/{item['id']}/repos", "parent": None,
    }
    return {"type": "Team", "reviewer": team}


def protection_rules(base: str, e: dict[str, Any]) -> list[dict[str, Any]]:
    """GitHub lists only the rules in force: required reviewers, a wait timer, a branch policy."""
    protection = e.get("protection") or {}
    rules: list[dict[str, Any]] = []
    if protection.get("reviewers"):
        rules.append({
            "id": e["id"] * 10 + 1, "node_id": f"GA_{e['id']}1", "type": "required_reviewers",
            "prevent_self_review": bool(protection.get("prevent_self_review")),
            "reviewers": [reviewer(base, item) for item in protection["reviewers"]],
        })
    if protection.get("wait_timer"):
        rules.append({"id": e["id"] * 10 + 2, "node_id": f"GA_{e['id']}2", "type": "wait_timer",
                      "wait_timer": protection["wait_timer"]})
    if protection.get("deployment_branch_policy"):
        rules.append({"id": e["id"] * 10 + 3, "node_id": f"GA_{e['id']}3", "type": "branch_policy"})
    return rules


def pending_deployment(base: str, e: dict[str, Any]) -> dict[str, Any]:
    """A job waiting for the Environment's required reviewers, as GET .../pending_deployments lists it."""
    protection = e.get("protection") or {}
    return {
        "environment": {key: value for key, value in environment(base, e).items()
                        if key in ("id", "node_id", "name", "url", "html_url")},
        "wait_timer": protection.get("wait_timer") or 0,
        "wait_timer_started_at": None,
        "current_user_can_approve": True,
        "reviewers": [reviewer(base, item) for item in protection.get("reviewers") or []],
    }


def review(base: str, r: dict[str, Any], environments: list[dict[str, Any]]) -> dict[str, Any]:
    """One review of a run's pending deployments, as GET .../actions/runs/{id}/approvals lists it."""
    return {
        "environments": [{key: value for key, value in environment(base, e).items()
                          if key in ("id", "node_id", "name", "url", "html_url", "created_at", "updated_at")}
                         for e in environments],
        "state": r["state"],
        "user": {**user(base), "login": "reviewer", "id": 4242, "type": "User"},
        "comment": r["comment"],
    }


def environment(base: str, e: dict[str, Any]) -> dict[str, Any]:
    policy = (e.get("protection") or {}).get("deployment_branch_policy")
    return {
        "id": e["id"],
        "node_id": f"EN_{e['id']}",
        "name": e["name"],
        "url": f"{base}/repos/{e['repo']}/environments/{e['name']}",
        "html_url": f"https://github.com/{e['repo']}/deployments/activity_log?environments_filter={e['name']}",
        "created_at": e["created_at"],
        "updated_at": e["updated_at"],
        "deployment_branch_policy": policy,
        "protection_rules": protection_rules(base, e),
        # GitHub's default, reported by the API though missing from its OpenAPI description.
        "can_admins_bypass": (e.get("protection") or {}).get("can_admins_bypass", True),
    }


def issue(base: str, i: dict[str, Any], comments: int) -> dict[str, Any]:
    repo, number = i["repo"], i["number"]
    url = f"{base}/repos/{repo}/issues/{number}"
    return {
        "id": i["id"],
        "node_id": f"I_{i['id']}",
        "url": url,
        "repository_url": f"{base}/repos/{repo}",
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"https://github.com/{repo}/issues/{number}",
        "number": number,
        "state": i["state"],
        "title": i["title"],
        "body": i["body"],
        "user": user(base),
        "labels": [
            {"id": index + 1, "node_id": f"LA_{index + 1}", "url": f"{base}/repos/{repo}/labels/{name}",
             "name": name, "color": "d73a4a", "default": False, "description": None}
            for index, name in enumerate(i["labels"])
        ],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "comments": comments,
        "closed_at": None,
        "created_at": i["created_at"],
        "updated_at": i["updated_at"],
        "author_association": "NONE",
    }


def full_repository(base: str, repo: str) -> dict[str, Any]:
    """The repository as a pull request's head and base carry it (GitHub's full Repository)."""
    counts = ("forks", "forks_count", "stargazers_count", "watchers_count", "size", "open_issues_count",
              "open_issues", "watchers")
    return {
        **repository(base, repo), **dict.fromkeys(counts, 0),
        "license": None, "git_url": f"git://github.com/{repo}.git", "ssh_url": f"git@github.com:{repo}.git",
        "clone_url": f"https://github.com/{repo}.git", "mirror_url": None,
        "svn_url": f"https://github.com/{repo}", "homepage": None, "language": "Python",
        "default_branch": "main", "has_pages": False, "disabled": False,
        "pushed_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }


def pull_request(base: str, p: dict[str, Any]) -> dict[str, Any]:
    """A pull request as POST .../pulls answers it."""
    repo, number = p["repo"], p["number"]
    url, html = f"{base}/repos/{repo}/pulls/{number}", f"https://github.com/{repo}/pull/{number}"
    issue_url = f"{base}/repos/{repo}/issues/{number}"
    links = {"self": url, "html": html, "issue": issue_url, "comments": f"{issue_url}/comments",
             "review_comments": f"{url}/comments",
             "review_comment": f"{base}/repos/{repo}/pulls/comments{{/number}}",
             "commits": f"{url}/commits", "statuses": f"{base}/repos/{repo}/statuses/{p['head_sha']}"}
    owner = repo.split("/")[0]

    def side(ref: str, sha: str) -> dict[str, Any]:
        return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": user(base),
                "repo": full_repository(base, repo)}

    return {
        "url": url, "id": p["id"], "node_id": f"PR_{p['id']}", "html_url": html, "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch", "issue_url": issue_url, "commits_url": links["commits"],
        "review_comments_url": links["review_comments"], "review_comment_url": links["review_comment"],
        "comments_url": links["comments"], "statuses_url": links["statuses"], "number": number,
        "state": "closed" if p["merged"] else "open", "locked": False, "title": p["title"],
        "user": user(base),
        "body": p.get("body"), "labels": [], "milestone": None, "created_at": p["created_at"],
        "updated_at": p["updated_at"], "closed_at": p.get("merged_at"), "merged_at": p.get("merged_at"),
        "merge_commit_sha": p.get("merge_commit_sha"), "assignee": None,
        "head": side(p["head"], p["head_sha"]), "base": side(p["base"], p["base_sha"]),
        "_links": {name: {"href": href} for name, href in links.items()}, "author_association": "MEMBER",
        "auto_merge": None, "merged": p["merged"], "mergeable": None, "mergeable_state": "unknown",
        "merged_by": None, "comments": 0, "review_comments": 0, "maintainer_can_modify": False,
        "commits": 1, "additions": 0, "deletions": 0, "changed_files": 0,
    }
