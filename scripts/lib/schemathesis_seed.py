"""Seeds a running server for scripts/schemathesis.sh and writes the
Schemathesis configuration that points each path parameter at a document
that exists, so generated requests reach the handlers' logic instead of
stopping at 404.

    python3 schemathesis_seed.py BASE_URL CONFIG_PATH   (prints the token)

Three users: "me" (whose token the run sends), a friend and a second
friend; two groups; expenses, payments and a receipt. What a destructive
operation may remove (DELETE of an expense, a payment, a group, a friend,
a member; leaving a group) gets a document of its own, so the other
operations keep theirs.
"""

import json
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib

BASE, CONFIG = sys.argv[1], sys.argv[2]
RUN = f"{int(time.time())}"


def call(method, path, body=None, token=None, content_type="application/json", raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        sys.exit(f"seed: {method} {path} answered {e.code}: {e.read()[:500]!r}")


def register(name):
    email = f"{name.lower()}-{RUN}@schemathesis.example"
    answer = call("POST", "/v1/auth/register",
                  {"name": name, "email": email, "password": "schemathesis-pass"})
    return answer["data"]["user"]["id"], answer["data"]["token"], email


def png(width=2, height=2):
    """A valid PNG of grey pixels."""
    def chunk(kind, payload):
        return (struct.pack(">I", len(payload)) + kind + payload
                + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


me, token, _ = register("Me")
friend, friend_token, friend_email = register("Friend")
other, _, other_email = register("Other")
call("POST", "/v1/users/friends", {"friends": [
    {"name": "Friend", "email": friend_email},
    {"name": "Other", "email": other_email},
]}, token)


def group(name, members):
    return call("POST", "/v1/groups", {"name": name, "members": members}, token)["data"]["_id"]


def expense(description, group_id=None):
    body = {"description": description, "amount": 30, "currency": "EUR",
            "splitWith": [{"user": me, "amount": 15}, {"user": friend, "amount": 15}]}
    if group_id:
        body["groupId"] = group_id
    return call("POST", "/v1/expenses", body, token)["data"]["_id"]


def payment(amount):
    return call("POST", "/v1/payments", {"to": friend, "amount": amount}, token)["data"]["_id"]


kept_group = group("Kept", [friend, other])
doomed_group = group("Doomed", [friend, other])
kept_expense = expense("Dinner")
expense("Lunch in the group", kept_group)
doomed_expense = expense("To delete")
kept_payment = payment(5)
doomed_payment = payment(2)
call("PUT", f"/v1/expenses/{kept_expense}/receipt", token=token,
     content_type="image/png", raw=png())
# The friend's photo: the run acts as me, so it stays (my receipt is replaced).
photo = call("PUT", "/v1/users/profile/image", token=friend_token,
             content_type="image/png", raw=png())["data"]["profileImage"]
image = photo.rstrip("/").rsplit("/", 1)[-1]
# A second session of mine, for the operation that ends one.
call("POST", "/v1/auth/login", {"email": f"me-{RUN}@schemathesis.example",
                                "password": "schemathesis-pass"})
sessions = call("GET", "/v1/auth/sessions", token=token)["data"]
spare_session = next(s["id"] for s in sessions if not s.get("current"))


def operation(path, params, method):
    # One filter (several include-* keys would match any of them).
    lines = ["[[operations]]", f'include-name = "{method} {path}"']
    inline = ", ".join(f'{k} = "{v}"' for k, v in params.items())
    lines.append(f"parameters = {{ {inline} }}")
    return "\n".join(lines)


sections = [
    # Project-wide: the people a path or a query names.
    f'[parameters]\nfriend_id = "{friend}"\nmember_id = "{other}"\nuser_id = "{other}"\n'
    f'group_id = "{kept_group}"\nfriendId = "{friend}"\ngroupId = "{kept_group}"',
]
# (method, path, parameters): one entry per method, so none overlaps another.
for method, path, params in [
    ("GET", "/v1/expenses/{id}", {"id": kept_expense}),
    ("PUT", "/v1/expenses/{id}", {"id": kept_expense}),
    ("DELETE", "/v1/expenses/{id}", {"id": doomed_expense}),
    ("PATCH", "/v1/expenses/{id}/settle", {"id": kept_expense}),
    ("PUT", "/v1/expenses/{id}/receipt", {"id": kept_expense}),
    ("DELETE", "/v1/expenses/{id}/receipt", {"id": kept_expense}),
    ("GET", "/v1/payments/{id}", {"id": kept_payment}),
    ("PUT", "/v1/payments/{id}", {"id": kept_payment}),
    ("DELETE", "/v1/payments/{id}", {"id": doomed_payment}),
    ("GET", "/v1/groups/{id}", {"id": kept_group}),
    ("PUT", "/v1/groups/{id}", {"id": kept_group}),
    ("DELETE", "/v1/groups/{id}", {"id": doomed_group}),
    ("POST", "/v1/groups/{id}/members", {"id": kept_group}),
    ("PATCH", "/v1/groups/{id}/members/{member_id}", {"id": kept_group, "member_id": other}),
    ("DELETE", "/v1/groups/{id}/members/{member_id}", {"id": doomed_group, "member_id": other}),
    ("DELETE", "/v1/groups/{id}/leave", {"id": doomed_group}),
    ("GET", "/v1/groups/{id}/settle-up", {"id": kept_group}),
    ("DELETE", "/v1/users/friends/{friend_id}", {"friend_id": other}),
    ("GET", "/v1/images/{id}", {"id": image}),
    ("DELETE", "/v1/auth/sessions/{id}", {"id": spare_session}),
]:
    sections.append(operation(path, params, method))

with open(CONFIG, "w") as out:
    out.write("\n\n".join(sections) + "\n")
print(token)
