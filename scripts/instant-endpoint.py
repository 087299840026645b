#!/usr/bin/env python3
"""A stand-in for IAM and STS that answers at once, for scripts/bench.

It answers every IAM and STS action that awscreds makes with canned, valid XML (the AWS query
protocol), keeping no state: CreateUser always succeeds, every listing is empty, every delete
succeeds. So a benchmark against it shows awscreds' own cost, apart from an emulator's or the
network's. It prints its URL (http://127.0.0.1:PORT) as its first line of output, then serves
until killed.

  --rate R    a token bucket (R requests per second, bursts of R) in front: a request beyond it
              gets IAM's own throttling error (HTTP 400, code Throttling), as real IAM answers
              a caller that exceeds its rate limit.
  --hang      accepts connections and reads requests, but never answers: an endpoint that is
              unreachable in the way a laptop offline is (every call runs into its timeout).

`GET /stats` answers JSON counts: requests, answered (2xx), throttled, and the first and last
request's time (monotonic seconds) of the answered ones.

Usage: scripts/instant-endpoint.py [--port N] [--rate R | --hang]
"""

import argparse
import json
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = "123456789012"
DATE = "2026-01-01T00:00:00Z"
EXPIRES = "2099-01-01T00:00:00Z"

# The member that each listing returns (always empty here).
LISTINGS = {
    "ListAccessKeys": "AccessKeyMetadata",
    "ListUserPolicies": "PolicyNames",
    "ListAttachedUserPolicies": "AttachedPolicies",
    "ListGroupsForUser": "Groups",
    "ListMFADevices": "MFADevices",
    "ListSSHPublicKeys": "SSHPublicKeys",
    "ListSigningCertificates": "Certificates",
    "ListServiceSpecificCredentials": "ServiceSpecificCredentials",
    "ListUsers": "Users",
    "ListUserTags": "Tags",
    "ListGroupPolicies": "PolicyNames",
    "ListAttachedGroupPolicies": "AttachedPolicies",
}
STS_ACTIONS = {"GetCallerIdentity", "AssumeRole", "GetFederationToken", "GetSessionToken"}
# Not paginated: no IsTruncated member.
UNPAGINATED = {"ListServiceSpecificCredentials"}


def user(name, path="/"):
    return (f"<User><Path>{path}</Path><UserName>{name}</UserName><UserId>AIDAINSTANT{abs(hash(name)) % 10**9:09d}"
            f"</UserId><Arn>arn:aws:iam::{ACCOUNT}:user{path}{name}</Arn>"
            f"<CreateDate>{DATE}</CreateDate></User>")


def credentials():
    return ("<Credentials><AccessKeyId>ASIAINSTANTINSTANT01</AccessKeyId>"
            "<SecretAccessKey>instant/secret/instant/secret/instant0001</SecretAccessKey>"
            "<SessionToken>instant-session-token</SessionToken>"
            f"<Expiration>{EXPIRES}</Expiration></Credentials>")


def result(action, params):
    """The inner XML of ACTIONResult, or None for an action without a result."""
    name = params.get("UserName", "instant")
    if action == "CreateUser":
        return user(name, params.get("Path", "/"))
    if action == "GetUser":
        return user(name)
    if action == "CreateAccessKey":
        return (f"<AccessKey><UserName>{name}</UserName><AccessKeyId>AKIAINSTANTINSTANT01</AccessKeyId>"
                "<Status>Active</Status>"
                "<SecretAccessKey>instant/secret/instant/secret/instant0001</SecretAccessKey>"
                f"<CreateDate>{DATE}</CreateDate></AccessKey>")
    if action in LISTINGS:
        member = f"<{LISTINGS[action]}/>"
        return member if action in UNPAGINATED else member + "<IsTruncated>false</IsTruncated>"
    if action == "GetGroupPolicy":
        return (f"<GroupName>{params.get('GroupName', 'g')}</GroupName>"
                f"<PolicyName>{params.get('PolicyName', 'p')}</PolicyName>"
                "<PolicyDocument>%7B%7D</PolicyDocument>")
    if action == "GetCallerIdentity":
        return (f"<Arn>arn:aws:iam::{ACCOUNT}:user/instant</Arn><UserId>AIDAINSTANT</UserId>"
                f"<Account>{ACCOUNT}</Account>")
    if action == "AssumeRole":
        return (credentials() + "<AssumedRoleUser><AssumedRoleId>AROAINSTANT:s</AssumedRoleId>"
                f"<Arn>arn:aws:sts::{ACCOUNT}:assumed-role/instant/s</Arn></AssumedRoleUser>")
    if action == "GetFederationToken":
        return (credentials() + f"<FederatedUser><FederatedUserId>{ACCOUNT}:instant</FederatedUserId>"
                f"<Arn>arn:aws:sts::{ACCOUNT}:federated-user/instant</Arn></FederatedUser>")
    if action == "GetSessionToken":
        return credentials()
    return None  # Put*, Attach*, Add*, Delete*, Detach*, Remove*, Deactivate*: nothing to say


def answer(action, params):
    ns = STS_NS if action in STS_ACTIONS else IAM_NS
    inner = result(action, params)
    body = f'<{action}Response xmlns="{ns}">'
    if inner is not None:
        body += f"<{action}Result>{inner}</{action}Result>"
    body += f"<ResponseMetadata><RequestId>instant</RequestId></ResponseMetadata></{action}Response>"
    return body.encode()


THROTTLED = (f'<ErrorResponse xmlns="{IAM_NS}"><Error><Type>Sender</Type><Code>Throttling</Code>'
             "<Message>Rate exceeded</Message></Error><RequestId>instant</RequestId>"
             "</ErrorResponse>").encode()


class Bucket:
    """R tokens per second, at most R held."""

    def __init__(self, rate):
        self.rate, self.tokens, self.at = rate, float(rate), time.monotonic()
        self.lock = threading.Lock()

    def take(self):
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = self.answered = self.throttled = 0
        self.first = self.last = None

    def count(self, ok):
        with self.lock:
            self.requests += 1
            if ok:
                now = time.monotonic()
                self.answered += 1
                self.first = self.first or now
                self.last = now
            else:
                self.throttled += 1

    def json(self):
        with self.lock:
            return json.dumps({"requests": self.requests, "answered": self.answered,
                               "throttled": self.throttled, "first": self.first,
                               "last": self.last}).encode()


class Handler(socketserver.StreamRequestHandler):
    """HTTP/1.1 with keep-alive, parsed by hand: http.server's header parsing (the email
    package) costs more than everything else here, and the point is to answer at once."""

    bucket = None
    hang = False
    stats = Stats()

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, status, body, content_type="text/xml"):
        # One write: head and body together (no Nagle/delayed-ACK stall between them).
        reason = {200: "OK", 400: "Bad Request"}[status]
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nx-amzn-RequestId: instant\r\n\r\n")
        self.wfile.write(head.encode() + body)
        self.wfile.flush()

    def handle(self):
        while True:
            request_line = self.rfile.readline(65537)
            if not request_line:
                return
            if not request_line.strip():
                continue
            method = request_line.split(b" ", 1)[0]
            length, close = 0, False
            while True:
                line = self.rfile.readline(65537)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            body = self.rfile.read(length) if length else b""
            if method == b"GET":
                self.send(200, self.stats.json(), "application/json")
            else:
                self.answer(body)
            if close:
                return

    def answer(self, body):
        params = dict(urllib.parse.parse_qsl(body.decode()))
        if self.hang:
            threading.Event().wait()
        if self.bucket is not None and not self.bucket.take():
            self.stats.count(False)
            self.send(400, THROTTLED)
            return
        self.stats.count(True)
        self.send(200, answer(params.get("Action", "Unknown"), params))


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--rate", type=float)
    group.add_argument("--hang", action="store_true")
    args = parser.parse_args()
    Handler.bucket = Bucket(args.rate) if args.rate else None
    Handler.hang = args.hang
    server = Server(("127.0.0.1", args.port), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
