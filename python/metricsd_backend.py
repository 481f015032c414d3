"""A PEP 517 build backend for the metricsd Python package, standard library
only, so that `pip install --no-index ./python` needs nothing from a package
index (a fresh venv's setuptools cannot build a wheel without `wheel`).

It builds a pure-Python wheel of the `metricsd` package. When the package is
built from a metricsd checkout (this directory's parent holds go.mod of
module metricsd and cmd/metricsd), the wheel also holds
metricsd/_checkout.py recording that checkout's path, so that the installed
run_server can build the binary from it with `go build`.

pip builds a local directory in place (pip >= 21.3); an older pip copies it
to a temporary directory first, the checkout is then not found and
run_server falls back to METRICSD_BIN and PATH.
"""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "metricsd"
VERSION = "0.1.0"
SUMMARY = "run_server(host, port): the metricsd server for the course's grader"
REQUIRES_PYTHON = ">=3.6"
TAG = "py3-none-any"

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(HERE, NAME)
DIST_INFO = "{}-{}.dist-info".format(NAME, VERSION)


def metadata_text():
    """The core metadata (METADATA in a wheel, PKG-INFO in an sdist)."""
    return (
        "Metadata-Version: 2.1\n"
        "Name: {}\n"
        "Version: {}\n"
        "Summary: {}\n"
        "Requires-Python: {}\n"
    ).format(NAME, VERSION, SUMMARY, REQUIRES_PYTHON)


def wheel_text():
    return (
        "Wheel-Version: 1.0\n"
        "Generator: metricsd_backend\n"
        "Root-Is-Purelib: true\n"
        "Tag: {}\n"
    ).format(TAG)


def find_checkout():
    """The metricsd checkout this directory is part of, or None."""
    root = os.path.dirname(HERE)
    try:
        with open(os.path.join(root, "go.mod")) as f:
            first = f.readline().split()
    except OSError:
        return None
    if first != ["module", "metricsd"] or not os.path.isdir(os.path.join(root, "cmd", "metricsd")):
        return None
    return root


def package_files():
    """(archive name, bytes) of every file of the package, sorted."""
    files = []
    for dirpath, dirnames, filenames in os.walk(PACKAGE_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if not name.endswith(".py") or name == "_checkout.py":
                continue
            path = os.path.join(dirpath, name)
            arcname = os.path.relpath(path, HERE).replace(os.sep, "/")
            with open(path, "rb") as f:
                files.append((arcname, f.read()))
    return files


def checkout_module(root):
    """The source of metricsd/_checkout.py recording root."""
    return (
        '"""Written by metricsd_backend at build time: the metricsd checkout\n'
        'this package was built from, where run_server can `go build` the binary."""\n'
        "\n"
        "CHECKOUT = {!r}\n"
    ).format(root).encode()


def record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "{},sha256={},{}\n".format(arcname, digest, len(data))


def wheel_name():
    return "{}-{}-{}.whl".format(NAME, VERSION, TAG)


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "METADATA"), "w") as f:
        f.write(metadata_text())
    with open(os.path.join(target, "WHEEL"), "w") as f:
        f.write(wheel_text())
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = package_files()
    root = find_checkout()
    if root is not None:
        files.append((NAME + "/_checkout.py", checkout_module(root)))
    files.append((DIST_INFO + "/METADATA", metadata_text().encode()))
    files.append((DIST_INFO + "/WHEEL", wheel_text().encode()))
    return _write_wheel(wheel_directory, files)


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return prepare_metadata_for_build_wheel(metadata_directory, config_settings)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """An editable wheel (PEP 660, `pip install -e ./python`): a .pth file
    that puts this directory on sys.path, so the package is the checkout's
    own and finds the checkout as with PYTHONPATH=python."""
    files = [
        (NAME + ".pth", (HERE + "\n").encode()),
        (DIST_INFO + "/METADATA", metadata_text().encode()),
        (DIST_INFO + "/WHEEL", wheel_text().encode()),
    ]
    return _write_wheel(wheel_directory, files)


def _write_wheel(wheel_directory, files):
    """Write files and their RECORD as this package's wheel; return its name."""
    record_name = DIST_INFO + "/RECORD"
    record = "".join(record_line(name, data) for name, data in files) + record_name + ",,\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name()), "w", zipfile.ZIP_DEFLATED) as whl:
        for name, data in files:
            whl.writestr(name, data)
        whl.writestr(record_name, record)
    return wheel_name()


def build_sdist(sdist_directory, config_settings=None):
    base = "{}-{}".format(NAME, VERSION)
    files = [(name, data) for name, data in package_files()]
    for name in ("pyproject.toml", "metricsd_backend.py"):
        with open(os.path.join(HERE, name), "rb") as f:
            files.append((name, f.read()))
    files.append(("PKG-INFO", metadata_text().encode()))
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for name, data in sorted(files):
            info = tarfile.TarInfo(base + "/" + name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return filename
