"""Throw-away certificates for the black-box TLS tests, made with the openssl CLI.

    p = make_pki()            # a temp dir holding ca.crt/.key, server.crt/.key, rogue.crt/.key
    p["ca.crt"], p["server.crt"], p["server.key"], p["rogue.crt"], p["dir"]
    p = make_pki(clients=True)  # also client.crt/.key (from ca) and rogueclient.crt/.key (from rogue)

ca signs the server certificate (subjectAltName IP:127.0.0.1 and DNS:localhost);
rogue is an unrelated CA that signed nothing the server presents. Valid for two days.
"""

import os
import subprocess
import tempfile


def _openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, "openssl %s failed: %s" % (" ".join(args), r.stderr)


def make_pki(prefix="urbis-it-pki-", clients=False):
    d = tempfile.mkdtemp(prefix=prefix)
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "rogue"):
        _openssl("req", "-x509", *key, "-days", "2", "-subj", "/CN=%s test CA" % ca,
                 "-keyout", ca + ".key", "-out", ca + ".crt", cwd=d)
    _openssl("req", *key, "-subj", "/CN=server", "-keyout", "server.key", "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=d)
    for name, ca in (("client", "ca"), ("rogueclient", "rogue")) if clients else ():
        _openssl("req", *key, "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
        _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                 "-CAcreateserial", "-days", "2", "-out", name + ".crt", cwd=d)
    p = {k: os.path.join(d, k) for k in os.listdir(d)}
    p["dir"] = d
    return p
