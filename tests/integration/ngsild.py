"""A small NGSI-LD HTTP client for the black-box tests (standard library only).

    api = Api(ctx.broker.http_port, tenant="t1")
    r = api.post("/entities", {...})            # JSON body, Content-Type application/json
    r.status, r.json, r.headers["Location"]
    api.get("/entities", params={"type": "Sensor", "q": "temperature>20"})

One keep-alive connection per Api object; every call returns a Response whose
.json is the parsed body (None when empty) and .problem() asserts a
ProblemDetails answer of the given NGSI-LD error type.
"""

import http.client
import json
import urllib.parse

ROOT = "/ngsi-ld/v1"
CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.raw = body
        try:
            self.json = json.loads(body.decode()) if body else None
        except ValueError:
            self.json = None

    def problem(self, status, err_type, detail_part=None):
        assert self.status == status, (self.status, self.raw)
        assert self.headers.get("Content-Type", "").startswith("application/problem+json"), self.headers
        assert self.json["type"] == ERRORS + err_type, self.json
        if detail_part is not None:
            assert detail_part in self.json["detail"], (detail_part, self.json)
        return self.json

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:300])


class Api:
    def __init__(self, port, tenant=None, link=None):
        self.port = port
        self.tenant = tenant
        self.link = link  # a context URL sent in a Link header
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)

    def close(self):
        self.conn.close()

    def request(self, method, path, body=None, params=None, headers=None, content_type="application/json",
                raw=None):
        url = (path if path.startswith("/ngsi-ld") or path.startswith("/api") else ROOT + path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        h = {}
        if self.tenant:
            h["NGSILD-Tenant"] = self.tenant
        if self.link:
            h["Link"] = '<%s>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"' % self.link
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            h["Content-Type"] = content_type
        h.update(headers or {})
        for attempt in range(2):
            try:
                self.conn.request(method, url, body=data, headers=h)
                r = self.conn.getresponse()
                return Response(r.status, r.headers, r.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
                if attempt:
                    raise

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params=params, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def quote(entity_id):
    return urllib.parse.quote(entity_id, safe="")


def prop(value, **extra):
    d = {"type": "Property", "value": value}
    d.update(extra)
    return d


def point(lon, lat):
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}
