#!/bin/sh
# The HTTP API of this directory in Debian's nginx (libnginx-mod-http-lua),
# in front of bin/smpp-sim over TLS, from a clone of lua-smpp:
#   make && make LUA=luajit BUILD=build/luajit all
#   examples/openresty/run.sh            (HTTP_PORT=8080, NGINX=/usr/sbin/nginx by default)
# It fills nginx.conf into a temporary directory, starts the simulator with
# a throwaway certificate and nginx against it, prints curl lines to try,
# and runs until Ctrl-C, which stops both.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
http_port=${HTTP_PORT:-8080}
nginx=${NGINX:-/usr/sbin/nginx}

for built in lua5.4 luajit; do
    if [ ! -f "$root/build/$built/smpp/core.so" ]; then
        echo "run.sh: no build/$built/smpp/core.so: run make and make LUA=luajit BUILD=build/luajit all" >&2
        exit 1
    fi
done

dir=$(mktemp -d)
sim_pid='' nginx_pid=''
stop() {
    trap - EXIT
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null # graceful: the binds unbind
    [ -n "$sim_pid" ] && kill -TERM "$sim_pid" 2>/dev/null
    wait
    [ -f "$dir/sim.log" ] && tail -n 1 "$dir/sim.log" # the simulator's counts
    rm -rf "$dir"
    echo "stopped"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# 1. a certificate for localhost, its own CA, good for a day
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout "$dir/smsc.key" -out "$dir/smsc.pem" 2>/dev/null || { echo "run.sh: openssl failed" >&2; exit 1; }

# 2. the simulator: TLS on a free port, receipts after half a second, MOs echoed
LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" LUA_CPATH="$root/build/lua5.4/?.so;;" \
    lua5.4 "$root/bin/smpp-sim" --port 0 --tls-port 0 --cert "$dir/smsc.pem" --key "$dir/smsc.key" \
    --account test:test --receipt-delay 500 --mo-echo "echo " >"$dir/sim.log" 2>&1 </dev/null &
sim_pid=$!
tls_port=
for _ in $(seq 50); do
    tls_port=$(sed -n 's/.*TLS on port \([0-9]*\).*/\1/p' "$dir/sim.log")
    [ -n "$tls_port" ] && break
    sleep 0.1
done
[ -n "$tls_port" ] || { echo "run.sh: the simulator did not start:" >&2; cat "$dir/sim.log" >&2; exit 1; }

# 3. nginx.conf filled in (the values quoted for sed), and nginx in the foreground of its own
quote() { printf '%s' "$1" | sed 's/[\\|&]/\\&/g'; }
sed -e "s|@LUA_PATH@|$(quote "$root/lua/?.lua;$root/lua/?/init.lua;$here/?.lua;;")|" \
    -e "s|@LUA_CPATH@|$(quote "$root/build/luajit/?.so;;")|" -e "s|@CA@|$(quote "$dir/smsc.pem")|" \
    -e "s|@SMSC_HOST@|127.0.0.1|" -e "s|@SMSC_PORT@|$tls_port|" -e "s|@SMSC_NAME@|localhost|" \
    -e "s|@SYSTEM_ID@|test|" -e "s|@PASSWORD@|test|" -e "s|@THROTTLE@|10|" \
    -e "s|@HTTP_PORT@|$http_port|" -e "s|@PREFIX@|$(quote "$dir")|g" "$here/nginx.conf" >"$dir/nginx.conf"
mkdir "$dir/body"
# (as root the workers would run as nobody, who may not read the clone)
as_root=
[ "$(id -u)" = 0 ] && as_root="user root;"
"$nginx" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g "daemon off; $as_root" \
    >"$dir/nginx.out" 2>&1 </dev/null &
nginx_pid=$!
for _ in $(seq 150); do
    grep -q "bound in worker" "$dir/error.log" 2>/dev/null && break
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q "bound in worker" "$dir/error.log" 2>/dev/null; then
    echo "run.sh: nginx did not bind:" >&2
    tail -n 20 "$dir/error.log" >&2
    exit 1
fi

url="http://127.0.0.1:$http_port"
cat <<EOF
smpp-sim (pid $sim_pid): TLS on 127.0.0.1:$tls_port, account test:test
nginx (pid $nginx_pid): $url, bound to it
Try:
  curl -s -H 'Content-Type: application/json' -d '{"to":"447700900123","text":"Hello from nginx","receipt":true,"ref":"r1"}' $url/sms
  curl -s '$url/receipts?ref=r1'
  curl -s $url/stats
Logs: $dir/error.log (nginx), $dir/sim.log (simulator). Ctrl-C stops both.
EOF

while kill -0 "$nginx_pid" 2>/dev/null && kill -0 "$sim_pid" 2>/dev/null; do
    sleep 1 &
    wait $!
done
echo "run.sh: nginx or the simulator stopped" >&2
exit 1
