#!/bin/sh
# Installs the Debian packages the build and tests need, when run as root;
# otherwise prints the apt-get line to run.
PKGS="build-essential clang lua5.4 liblua5.4-dev lua5.1 liblua5.1-0-dev lua5.3 liblua5.3-dev luajit2 libluajit2-5.1-dev lua-busted \
libssl-dev pkg-config luarocks lua-check libsmpp34-dev tshark lua-cqueues openssl \
nginx libnginx-mod-http-lua redis-server lua-ldoc lua-discount lua-dkjson lua-sql-sqlite3"
# LuaJIT is OpenResty's branch (luajit2): nginx's lua module needs it, and it
# replaces Debian's luajit, with which it cannot be installed side by side.
# node and npm may come from elsewhere than Debian (the machine image has them):
# Debian's packages only when there is no node at all.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $missing >/dev/null || exit 1
else
    echo "missing packages; run as root:"
    echo "  sudo apt-get install -y$missing"
    exit 1
fi
