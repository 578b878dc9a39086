#!/usr/bin/env bash
# Build ebpf-monitor_<version>_amd64.deb from a staged tree with dpkg-deb --build.
#
# usage: packaging/deb/build.sh DIST_DIR OUT_DIR [PURE_DIR]
#   DIST_DIR holds our wheel (make wheel: with the compiled reader core for the building
#   python3's CPython version); PURE_DIR our pure-Python wheel (EBPF_MONITOR_PURE=1), shipped
#   too, so that a target with another python3 installs it and runs the Python builders.
#
# The .deb ships wheels, not a venv: a venv has its absolute path and the interpreter's version
# baked in, and Depends: python3 (>= 3.11) can be 3.11, 3.12 or 3.13 on the target. postinst builds
# /opt/ebpf-monitor/venv from the shipped wheels with --no-index (offline), using the pip wheel
# shipped alongside (so neither python3-pip nor python3-venv is needed), for whatever python3 the
# host has. Dependency wheels are fetched here for each of those CPython versions.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dist=$(cd "${1:?usage: build.sh DIST_DIR OUT_DIR}" && pwd)
out=${2:?usage: build.sh DIST_DIR OUT_DIR}
py=${PY:-$root/.venv/bin/python}
pip_version=${PIP_VERSION:-24.3.1}
python_versions=${PYTHON_VERSIONS:-"3.11 3.12 3.13"}

version=$("$py" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
    "$root/pyproject.toml")
arch=amd64 # the wheels below are x86_64 builds
wheel=$(find "$dist" -maxdepth 1 -name 'ebpf_monitor-*.whl' | head -n 1)
[[ -n $wheel ]] || { echo "build.sh: no ebpf_monitor wheel in $dist (make wheel)" >&2; exit 1; }
pure=
if [[ -n ${3:-} ]]; then
    pure=$(find "$3" -maxdepth 1 -name 'ebpf_monitor-*-py3-none-any.whl' | head -n 1)
    [[ -n $pure ]] || { echo "build.sh: no pure ebpf_monitor wheel in $3" >&2; exit 1; }
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$out/stage
rm -rf "$stage"
prefix=/opt/ebpf-monitor
wheels=$stage$prefix/wheels
install -d -m 0755 "$wheels" "$stage$prefix/share" "$stage/usr/bin" "$stage/lib/systemd/system" \
    "$stage/etc/logrotate.d" "$stage/usr/share/doc/ebpf-monitor" "$stage/DEBIAN"

# --- payload ---------------------------------------------------------------------------------
cp "$wheel" ${pure:+"$pure"} "$wheels/"
"$py" -m pip download -q --no-deps --dest "$wheels" "pip==$pip_version"
for v in $python_versions; do
    # Binary wheels only: the target has no compiler. manylinux tags up to glibc 2.28 cover
    # Debian 10 onwards.
    "$py" -m pip download -q --dest "$wheels" --only-binary=:all: --implementation cp \
        --python-version "$v" --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 "${pure:-$wheel}"
done
chmod 0644 "$wheels"/*.whl

# Debian packages stay out of /usr/local: the command is /usr/bin/ebpf-monitor here.
ln -s $prefix/venv/bin/ebpf-monitor "$stage/usr/bin/ebpf-monitor"
sed 's|^ExecStart=/usr/local/bin/ebpf-monitor |ExecStart=/usr/bin/ebpf-monitor |' \
    "$root/packaging/ebpf-monitor.service" > "$stage/lib/systemd/system/ebpf-monitor.service"
grep -q '^ExecStart=/usr/bin/ebpf-monitor ' "$stage/lib/systemd/system/ebpf-monitor.service"
install -m 0644 "$root/packaging/logrotate/ebpf-provenance" "$stage/etc/logrotate.d/ebpf-provenance"
# postinst copies this to /var/config.json when absent (not under /usr/share/doc, which minimal
# images exclude from unpacking).
install -m 0644 "$root/packaging/config.example.json" "$stage$prefix/share/config.example.json"
install -m 0644 "$root/docs/service.md" "$stage/usr/share/doc/ebpf-monitor/service.md"
chmod 0644 "$stage/lib/systemd/system/ebpf-monitor.service"

# --- control ---------------------------------------------------------------------------------
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: ebpf-monitor
Version: $version
Architecture: $arch
Maintainer: ebpf-monitor maintainers <root@localhost>
Installed-Size: $size
Depends: python3 (>= 3.11), libbpf1, logrotate
Section: admin
Priority: optional
Description: system-activity (provenance) monitor using eBPF
 Records who did what to which object (process executions, file opens,
 reads and writes, network connections) from CO-RE eBPF programs, as
 ECS JSON lines on local disk and optionally in Elasticsearch.
 .
 Runs as the systemd service ebpf-monitor.service, configured by
 /var/config.json; the service is installed but not started.
EOF
# The logrotate file is the admin's to edit; /var/config.json is not shipped (policy keeps
# conffiles under /etc), postinst creates it and postrm purge removes it.
echo /etc/logrotate.d/ebpf-provenance > "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$here/$script" "$stage/DEBIAN/$script"
done

deb=$out/ebpf-monitor_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
