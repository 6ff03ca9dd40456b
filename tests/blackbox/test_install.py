"""scripts/lib.sh's installation of missing packages, as scripts/run and
scripts/test do it on a fresh machine: where another apt-get is running (a
fresh Debian machine runs apt-daily and unattended upgrades at boot, another
clone's scripts may be installing), it waits for it instead of failing."""
# ctest labels: no_sanitizers  # runs apt-get, not the build under test
import fcntl
import os
import subprocess
import time

import pytest

from conftest import ROOT

# The locks apt-get update and apt-get install take (fcntl locks, as apt's own).
APT_LOCKS = ["/var/lib/apt/lists/lock", "/var/lib/dpkg/lock-frontend"]
POLICY = "/usr/sbin/policy-rc.d"


def hold(path, timeout=600):
    """Takes an apt lock as apt-get does, waiting for any apt-get holding it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except OSError:
            assert time.monotonic() < deadline, f"{path} held by another apt-get for {timeout} s"
            time.sleep(1)


def test_a_missing_package_waits_for_another_apt_get_instead_of_failing():
    if os.geteuid() != 0:
        pytest.skip("holds apt's and dpkg's locks, which needs root (CI runs as root)")
    policy_before = os.path.exists(POLICY)
    held = {path: hold(path) for path in APT_LOCKS}

    def let_go(path):
        os.close(held.pop(path))

    # A package no archive has: apt-get gets as far as looking it up once it
    # has the locks, and installs nothing.
    script = f". {ROOT}/scripts/lib.sh; PACKAGES=(fcgi-users-test-no-such-package); ensure_packages"
    p = subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(6)  # apt-get update waits...
        assert p.poll() is None, "gave up while another apt-get held the lists' lock: " + p.stderr.read()
        let_go(APT_LOCKS[0])
        time.sleep(15)  # ...and so does apt-get install, once update is done
        assert p.poll() is None, "gave up while another apt-get held dpkg's lock: " + p.stderr.read()
    finally:
        for path in list(held):
            let_go(path)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 1, err
    assert "another apt-get holds its lock: waiting for it" in err
    assert "Unable to locate package fcgi-users-test-no-such-package" in err, err
    assert "Could not get lock" not in err and "Unable to acquire" not in err, err
    assert "apt-get failed" in err
    assert os.path.exists(POLICY) == policy_before  # its own policy-rc.d removed, another's kept
