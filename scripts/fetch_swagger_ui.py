"""Vendor Swagger UI into mything, or check the copy that is already there.

mything's ``/docs`` page runs Swagger UI from files shipped inside the
package, so that it works offline and behind firewalls, and never loads code
from a third-party server into the page. The files come from the npm package
``swagger-ui-dist`` and are listed in ``mything/static/swagger-ui/SOURCE.json``,
which works like a lock file: it names the version, the tarball, the tarball's
npm integrity hash and the SHA-256 of every vendored file.

Check that the vendored files are exactly the ones the manifest names (no
network; the test suite does this too)::

    python scripts/fetch_swagger_ui.py --check

Download the pinned version again, verify it and rewrite the files::

    python scripts/fetch_swagger_ui.py

Move to another version (its integrity hash is taken from the registry and
recorded in the manifest)::

    python scripts/fetch_swagger_ui.py --version 5.35.0

Only the files the page needs are copied: the bundle, its stylesheet, an
icon, and the licence texts that must travel with them. Source maps, the
standalone preset and the other builds stay out of the package.

The script uses the standard library only, so it runs before anything else
is installed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Any

PACKAGE = "swagger-ui-dist"
REGISTRY = "https://registry.npmjs.org"
TARGET = Path(__file__).resolve().parent.parent / "mything" / "static" / "swagger-ui"
MANIFEST = "SOURCE.json"

#: The files of the npm package that mything ships, by their name in it.
FILES = (
    "LICENSE",
    "NOTICE",
    "favicon-32x32.png",
    "swagger-ui-bundle.js",
    "swagger-ui-bundle.js.LICENSE.txt",
    "swagger-ui.css",
)


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()


def read_manifest(target: Path = TARGET) -> dict[str, Any]:
    """Return the manifest of the vendored files in ``target``."""
    return json.loads((target / MANIFEST).read_text(encoding="utf-8"))


def check(target: Path = TARGET) -> list[str]:
    """Return what is wrong with the vendored files; an empty list if nothing."""
    manifest = read_manifest(target)
    problems = []
    if sorted(manifest["files"]) != sorted(FILES):
        problems.append(f"{MANIFEST} lists {sorted(manifest['files'])}, not {FILES}")
    for name, expected in manifest["files"].items():
        path = target / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif sha256(path.read_bytes()) != expected:
            problems.append(f"{name} does not match its SHA-256 in {MANIFEST}")
    present = {path.name for path in target.iterdir()} - {MANIFEST}
    for name in sorted(present - set(manifest["files"])):
        problems.append(f"{name} is not listed in {MANIFEST}")
    return problems


def fetch_json(url: str) -> Any:
    """Return the JSON document at ``url``."""
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def fetch_bytes(url: str) -> bytes:
    """Return the body of ``url``."""
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def verify_integrity(data: bytes, integrity: str) -> None:
    """Raise ``ValueError`` unless ``data`` has the npm ``sha512-...`` hash."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise ValueError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if actual != expected:
        raise ValueError(f"tarball integrity mismatch: sha512-{actual} != {integrity}")


def extract(tarball: bytes) -> dict[str, bytes]:
    """Return the contents of :data:`FILES` from an npm package tarball.

    Members are read by name, never extracted to paths the archive chooses.
    """
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for name in FILES:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise ValueError(f"package/{name} is not a regular file")
            files[name] = member.read()
    return files


def vendor(version: str, tarball_url: str, integrity: str, target: Path) -> None:
    """Download, verify and unpack one version, then rewrite the manifest."""
    tarball = fetch_bytes(tarball_url)
    verify_integrity(tarball, integrity)
    files = extract(tarball)
    # The directory holds exactly one version: a file the new one dropped goes.
    for stale in target.glob("*"):
        stale.unlink()
    for name, data in files.items():
        (target / name).write_bytes(data)
    manifest = {
        "package": PACKAGE,
        "version": version,
        "tarball": tarball_url,
        "integrity": integrity,
        "files": {name: sha256(data) for name, data in sorted(files.items())},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="verify the vendored files offline"
    )
    parser.add_argument(
        "--version", help="vendor this version instead of the pinned one"
    )
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(f"swagger-ui: {problem}", file=sys.stderr)
        if problems:
            return 1
        print(f"{PACKAGE} {read_manifest()['version']}: every file matches {MANIFEST}")
        return 0
    TARGET.mkdir(parents=True, exist_ok=True)
    if args.version:
        dist = fetch_json(f"{REGISTRY}/{PACKAGE}/{args.version}")["dist"]
        vendor(args.version, dist["tarball"], dist["integrity"], TARGET)
    else:
        pinned = read_manifest()
        vendor(pinned["version"], pinned["tarball"], pinned["integrity"], TARGET)
    print(f"vendored {PACKAGE} {read_manifest()['version']} into {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
