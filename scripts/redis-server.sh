# Sourced by test.sh: start a throwaway Redis (Debian's redis-server) on a free loopback port, with
# nothing saved to disk, and stop it on exit. After `redis_start`, REDIS_PORT is set; it returns 1
# if redis-server is not installed.
source "$(dirname "${BASH_SOURCE[0]}")/on-exit.sh"

redis_stop() {
    [ -n "${REDIS_PID:-}" ] || return 0
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
}

redis_start() {
    command -v redis-server >/dev/null 2>&1 || return 1
    REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
        --daemonize no --loglevel warning >/dev/null &
    REDIS_PID=$!
    on_exit redis_stop
    for _ in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    echo "== throwaway Redis on port $REDIS_PORT"
}
