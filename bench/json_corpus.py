"""Writes a corpus of realistic JSON outputs for bench/compress.sh.

    python3 bench/json_corpus.py DIR [COUNT]

COUNT outputs of each of three kinds, as the wrapped tools print them:
`gh api repos/O/R/issues` (GitHub's REST objects: URLs, users, labels,
Markdown bodies), `hf api`/Hub model info (siblings, tags, card data) and
LLM answers (OpenAI chat completions whose answer is prose, lists and
code; the prose is paragraphs of this repository's documentation). Seeded: the same corpus on every run. Nothing is fetched.
"""
import json
import os
import zlib
import random
import sys

out_dir = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 100
rng = random.Random(17)

WORDS = (
    "the a to of and in is for that on with as this be it by are from or at "
    "an not we can if you use when should but which will have has more all "
    "one would there their what so about into than then only also other "
    "function value return error cache request response file build test "
    "output input config server client token model version update change "
    "fix bug issue parser memory thread lock key hash entry store read write "
    "call path option default case example result type string number list "
    "object field method class module package release branch commit merge "
    "review comment docs performance latency timeout retry network disk"
).split()
LOGINS = ["octocat", "hubot", "monalisa", "defunkt", "mojombo", "pjhyett",
          "wycats", "ezmobius", "ivey", "evanphx", "vanpelt", "wayneeseguin"]
LABELS = [("bug", "d73a4a"), ("enhancement", "a2eeef"), ("documentation", "0075ca"),
          ("good first issue", "7057ff"), ("help wanted", "008672"),
          ("question", "d876e3"), ("wontfix", "ffffff"), ("performance", "fbca04")]


# Prose: the paragraphs of this repository's own documentation, real English
# (and Markdown) as an issue body or a model's answer has.
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARAGRAPHS = []
for doc in ("README.md", "ARCHITECTURE.md", "CONTRIBUTING.md", "wrappers/README.md"):
    try:
        text = open(os.path.join(root, doc)).read()
    except OSError:
        continue
    PARAGRAPHS += [p.strip() for p in text.split("\n\n") if len(p.strip()) > 80]


def sentence(n_min=6, n_max=18):
    words = [rng.choice(WORDS) for _ in range(rng.randint(n_min, n_max))]
    return " ".join(words).capitalize() + "."


def paragraph():
    return rng.choice(PARAGRAPHS) if PARAGRAPHS else sentence()


def timestamp():
    return "2024-%02d-%02dT%02d:%02d:%02dZ" % (
        rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
        rng.randint(0, 59), rng.randint(0, 59))


def sha():
    return "%040x" % rng.getrandbits(160)


def user(login):
    uid = zlib.crc32(login.encode()) % 10_000_000  # not hash(): salted per run
    base = "https://api.github.com/users/" + login
    return {
        "login": login, "id": uid, "node_id": "MDQ6VXNlcj%d" % uid,
        "avatar_url": "https://avatars.githubusercontent.com/u/%d?v=4" % uid,
        "gravatar_id": "", "url": base, "html_url": "https://github.com/" + login,
        "followers_url": base + "/followers",
        "following_url": base + "/following{/other_user}",
        "gists_url": base + "/gists{/gist_id}",
        "starred_url": base + "/starred{/owner}{/repo}",
        "subscriptions_url": base + "/subscriptions",
        "organizations_url": base + "/orgs", "repos_url": base + "/repos",
        "events_url": base + "/events{/privacy}",
        "received_events_url": base + "/received_events",
        "type": "User", "site_admin": False,
    }


def gh_issues():
    owner, repo = rng.choice(LOGINS), rng.choice(WORDS) + "-" + rng.choice(WORDS)
    api = "https://api.github.com/repos/%s/%s" % (owner, repo)
    issues = []
    for _ in range(rng.randint(5, 30)):
        n = rng.randint(1, 20000)
        labels = [{"id": rng.randint(1, 10**9), "node_id": "LA_kwDO%08x" % rng.getrandbits(32),
                   "url": api + "/labels/" + name.replace(" ", "%20"), "name": name,
                   "color": color, "default": name in ("bug", "enhancement"),
                   "description": sentence(3, 8)}
                  for name, color in rng.sample(LABELS, rng.randint(0, 3))]
        body = "\n\n".join(paragraph() for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.5:
            body += "\n\n```\n$ %s --%s\n%s\n```\n" % (
                rng.choice(WORDS), rng.choice(WORDS), sentence())
        issues.append({
            "url": "%s/issues/%d" % (api, n),
            "repository_url": api,
            "labels_url": "%s/issues/%d/labels{/name}" % (api, n),
            "comments_url": "%s/issues/%d/comments" % (api, n),
            "events_url": "%s/issues/%d/events" % (api, n),
            "html_url": "https://github.com/%s/%s/issues/%d" % (owner, repo, n),
            "id": rng.randint(10**9, 3 * 10**9), "node_id": "I_kwDO%012x" % rng.getrandbits(48),
            "number": n, "title": sentence(4, 10)[:-1],
            "user": user(rng.choice(LOGINS)), "labels": labels,
            "state": rng.choice(["open", "open", "closed"]), "locked": False,
            "assignee": None, "assignees": [], "milestone": None,
            "comments": rng.randint(0, 40), "created_at": timestamp(),
            "updated_at": timestamp(), "closed_at": None,
            "author_association": rng.choice(["MEMBER", "CONTRIBUTOR", "NONE"]),
            "active_lock_reason": None, "body": body,
            "reactions": {"url": "%s/issues/%d/reactions" % (api, n),
                          "total_count": 0, "+1": rng.randint(0, 9), "-1": 0,
                          "laugh": 0, "hooray": 0, "confused": 0, "heart": 0,
                          "rocket": 0, "eyes": 0},
            "timeline_url": "%s/issues/%d/timeline" % (api, n),
            "performed_via_github_app": None, "state_reason": None,
        })
    # gh api prints the API's JSON as it came: compact.
    return json.dumps(issues, separators=(",", ":")) + "\n"


def hf_model():
    org, name = rng.choice(LOGINS), "-".join(rng.sample(WORDS, 2)) + "-%db" % rng.choice([1, 3, 7, 13, 70])
    files = ["config.json", "generation_config.json", "tokenizer.json",
             "tokenizer_config.json", "special_tokens_map.json", "README.md",
             ".gitattributes"]
    shards = rng.randint(1, 30)
    files += ["model-%05d-of-%05d.safetensors" % (i + 1, shards) for i in range(shards)]
    files.append("model.safetensors.index.json")
    info = {
        "_id": "%024x" % rng.getrandbits(96), "id": org + "/" + name,
        "modelId": org + "/" + name, "author": org, "sha": sha(),
        "lastModified": timestamp().replace("Z", ".000Z"), "private": False,
        "disabled": False, "gated": rng.choice([False, "auto", "manual"]),
        "pipeline_tag": rng.choice(["text-generation", "text-classification",
                                     "feature-extraction", "translation"]),
        "tags": ["transformers", "safetensors", "pytorch", "llama",
                 "text-generation", "conversational", "en", "license:apache-2.0",
                 "autotrain_compatible", "endpoints_compatible", "region:us"][: rng.randint(4, 11)],
        "downloads": rng.randint(0, 5_000_000), "likes": rng.randint(0, 20000),
        "library_name": "transformers",
        "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
                   "tokenizer_config": {"bos_token": "<s>", "eos_token": "</s>",
                                        "pad_token": None, "unk_token": "<unk>",
                                        "chat_template": "{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token }}{% endfor %}"}},
        "cardData": {"language": ["en"], "license": "apache-2.0",
                     "tags": ["text-generation"], "datasets": [rng.choice(WORDS) + "/" + rng.choice(WORDS)]},
        "siblings": [{"rfilename": f} for f in files],
        "spaces": ["%s/%s-%s" % (rng.choice(LOGINS), rng.choice(WORDS), rng.choice(WORDS))
                   for _ in range(rng.randint(0, 40))],
        "createdAt": timestamp().replace("Z", ".000Z"),
        "safetensors": {"parameters": {"BF16": rng.randint(10**9, 7 * 10**10)},
                        "total": rng.randint(10**9, 7 * 10**10)},
        "usedStorage": rng.randint(10**9, 10**11),
    }
    # huggingface_hub prints indented JSON.
    return json.dumps(info, indent=2) + "\n"


def llm_answer():
    parts = []
    for _ in range(rng.randint(2, 8)):
        parts.append(paragraph())
        if rng.random() < 0.4:
            fn = rng.choice(WORDS) + "_" + rng.choice(WORDS)
            parts.append("```python\ndef %s(%s):\n    %s = %s(%s)\n    return %s\n```" % (
                fn, rng.choice(WORDS), rng.choice(WORDS), rng.choice(WORDS),
                rng.choice(WORDS), rng.choice(WORDS)))
        if rng.random() < 0.3:
            parts.append("\n".join("- " + sentence(4, 10) for _ in range(rng.randint(2, 6))))
    content = "\n\n".join(parts)
    prompt = rng.randint(50, 4000)
    completion = len(content) // 4
    answer = {
        "id": "chatcmpl-%024x" % rng.getrandbits(96), "object": "chat.completion",
        "created": rng.randint(1_700_000_000, 1_760_000_000),
        "model": rng.choice(["gpt-4o-2024-08-06", "llama-3.3-70b-versatile",
                             "claude-sonnet-4-5"]),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                             "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
        "system_fingerprint": "fp_%010x" % rng.getrandbits(40),
    }
    return json.dumps(answer) + "\n"


os.makedirs(out_dir, exist_ok=True)
for kind, make in (("gh", gh_issues), ("hf", hf_model), ("llm", llm_answer)):
    for i in range(count):
        with open(os.path.join(out_dir, "%s-%03d.json" % (kind, i)), "w") as f:
            f.write(make())
