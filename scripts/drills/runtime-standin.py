#!/usr/bin/env python3
"""Packs a stand-in of gcr.io/distroless/cc-debian12:nonroot from a Debian
bookworm rootfs made by debootstrap, as a tarball for `docker import`.

    runtime-standin.py ROOTFS OUT.tar

It holds what distroless cc holds, taken from the same Debian packages: the
files of libc6, libgcc-s1, libgomp1, libstdc++6 and libssl3 (their shared
libraries, no docs), the CA bundle of ca-certificates, tzdata's zoneinfo,
netbase's /etc files, /etc/os-release, and passwd/group entries for root,
nobody and nonroot (65532:65532, home /home/nonroot). No shell, no package
manager. Owners are root except /home/nonroot; /tmp is 1777.
"""

import io
import os
import sys
import tarfile

PACKAGES = ["libc6:amd64", "libgcc-s1:amd64", "libgomp1:amd64", "libstdc++6:amd64", "libssl3:amd64"]
# Only parts of these packages: the data the image needs, not their tools.
EXTRA_TREES = ["usr/share/zoneinfo", "etc/ssl/certs/ca-certificates.crt", "etc/services",
               "etc/protocols", "etc/ethertypes", "etc/rpc", "usr/lib/os-release", "etc/os-release"]
SKIP_PREFIXES = ("usr/share/doc", "usr/share/man", "usr/share/lintian", "usr/share/locale",
                 "usr/share/bug", "usr/share/gcc", "usr/share/gdb", "usr/share/info", "usr/libexec",
                 "usr/bin", "usr/sbin", "sbin", "bin", "etc/ld.so.conf.d", "usr/lib/x86_64-linux-gnu/audit",
                 "usr/lib/x86_64-linux-gnu/gconv", "etc/ld.so.cache")

PASSWD = """root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
"""
GROUP = """root:x:0:
nobody:x:65534:
tty:x:5:
staff:x:50:
nonroot:x:65532:
"""
NSSWITCH = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"


def canonical(rootfs, rel):
    """rel with its directory resolved inside rootfs (merged /usr: lib -> usr/lib)."""
    parent, base = os.path.split(rel)
    real_parent = os.path.realpath(os.path.join(rootfs, parent))
    if not (real_parent + "/").startswith(os.path.realpath(rootfs) + "/") and real_parent != os.path.realpath(rootfs):
        raise SystemExit(f"runtime-standin: {rel} resolves outside the rootfs")
    return os.path.relpath(os.path.join(real_parent, base), os.path.realpath(rootfs))


def main():
    rootfs, out = sys.argv[1], sys.argv[2]
    wanted = set()
    for pkg in PACKAGES:
        listing = os.path.join(rootfs, "var/lib/dpkg/info", f"{pkg}.list")
        if not os.path.exists(listing):
            raise SystemExit(f"runtime-standin: {pkg} is not installed in {rootfs}")
        with open(listing, encoding="utf-8") as fh:
            for line in fh:
                rel = line.strip().lstrip("/")
                if rel and rel != ".":
                    wanted.add(canonical(rootfs, rel))
    for rel in EXTRA_TREES:
        top = os.path.join(rootfs, rel)
        if not os.path.lexists(top):
            raise SystemExit(f"runtime-standin: {rel} missing in {rootfs}")
        if os.path.isdir(top) and not os.path.islink(top):
            for dirpath, dirnames, filenames in os.walk(top):
                for name in dirnames + filenames:
                    wanted.add(canonical(rootfs, os.path.relpath(os.path.join(dirpath, name), rootfs)))
        else:
            wanted.add(canonical(rootfs, rel))
    files = sorted(p for p in wanted if not p.startswith(SKIP_PREFIXES)
                   and not os.path.isdir(os.path.join(rootfs, p)))
    # Shared libraries the packages ship as symlinks must point inside the set.
    dirs = {"etc", "tmp", "home", "home/nonroot", "root", "usr", "usr/lib", "usr/lib64", "usr/bin"}
    for p in files:
        d = os.path.dirname(p)
        while d:
            dirs.add(d)
            d = os.path.dirname(d)

    def info(name, kind, mode, uid=0, gid=0):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, 0
        return ti

    total = 0
    with tarfile.open(out, "w") as tar:
        for d in sorted(dirs):
            mode = 0o1777 if d == "tmp" else 0o700 if d == "root" else 0o755
            uid = 65532 if d == "home/nonroot" else 0
            tar.addfile(info(d, tarfile.DIRTYPE, mode, uid, uid))
        # Merged /usr, as in Debian and distroless.
        for link, target in (("lib", "usr/lib"), ("lib64", "usr/lib64"), ("bin", "usr/bin"), ("sbin", "usr/sbin")):
            ti = info(link, tarfile.SYMTYPE, 0o777)
            ti.linkname = target
            tar.addfile(ti)
        for p in files:
            src = os.path.join(rootfs, p)
            ti = tar.gettarinfo(src, arcname=p)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = "root"
            ti.mtime = 0
            if ti.isreg():
                total += ti.size
                with open(src, "rb") as fh:
                    tar.addfile(ti, fh)
            else:
                tar.addfile(ti)
        for name, text in (("etc/passwd", PASSWD), ("etc/group", GROUP), ("etc/nsswitch.conf", NSSWITCH)):
            data = text.encode()
            ti = info(name, tarfile.REGTYPE, 0o644)
            ti.size = len(data)
            tar.addfile(ti, io.BytesIO(data))
    print(f"runtime-standin: {len(files)} files, {total / 1e6:.1f} MB, from {', '.join(PACKAGES)} + {len(EXTRA_TREES)} data paths")


if __name__ == "__main__":
    main()
